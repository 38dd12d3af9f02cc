"""The SQLite manager: certification, restarts, crashes, bad files, and the write path."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from memspec import IMemoryInput, IWorkingMemory, MemoryBackendError
from memspec.conformance import certify
from memspec.conformance.checks import close_manager
from memspec.conformance.driver import Driver
from memspec.conformance.target import FakeClock, Target
from memspec.models import StoredRecord
from memspec.reference import (
    SQLiteMemoryManager,
    temporary_async_sqlite_manager,
    temporary_sqlite_manager,
)
from memspec.reference.sqlite import _PURGE_BATCH, _PURGE_EVERY, SCHEMA_VERSION


def put(cid: str, *texts: str, **extra: object) -> IMemoryInput:
    data = [IWorkingMemory(working_memory=t) for t in texts] or None
    return IMemoryInput(conversation_id=cid, data=data, **extra)  # type: ignore[arg-type]


def texts(manager: SQLiteMemoryManager, cid: str) -> list[str]:
    return [item.working_memory for item in manager.retrieve(put(cid))]


@pytest.mark.requirement("MM-DUR-001")
@pytest.mark.parametrize(
    ("factory", "profiles"),
    [
        (temporary_sqlite_manager, ["core", "ttl", "concurrency", "persistence"]),
        (temporary_async_sqlite_manager, ["core", "ttl", "async", "persistence"]),
    ],
    ids=["sync", "async"],
)
def test_certified_on_every_profile(factory: object, profiles: list[str]) -> None:
    report = certify(Target.from_factory(factory), depth="quick", seed=11)  # type: ignore[arg-type]
    assert [p.value for p in report.profiles] == profiles
    assert report.conformant, [(r.message, r.reproduction) for r in report.failures]


@pytest.mark.requirement("MM-DUR-001")
def test_a_new_process_sees_the_writes(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with SQLiteMemoryManager(path, ttl=None) as manager:
        manager.store(put("c", "from the parent", "second item"))
    child = textwrap.dedent(
        f"""
        from memspec import IMemoryInput
        from memspec.reference import SQLiteMemoryManager
        with SQLiteMemoryManager({str(path)!r}, ttl=None) as manager:
            print([i.working_memory for i in manager.retrieve(IMemoryInput(conversation_id="c"))])
        """
    )
    run = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "['from the parent', 'second item']"


@pytest.mark.requirement("MM-DUR-001")
def test_writes_survive_a_kill_in_the_middle_of_a_stream(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    writer = textwrap.dedent(
        f"""
        import sys
        from memspec import IMemoryInput, IWorkingMemory
        from memspec.reference import SQLiteMemoryManager
        manager = SQLiteMemoryManager({str(path)!r}, ttl=None)
        n = 0
        while True:
            manager.store(IMemoryInput(conversation_id=f"c{{n % 50}}",
                                       data=[IWorkingMemory(working_memory=f"write {{n}}")]))
            print(n, flush=True)
            n += 1
        """
    )
    child = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 30
    while acknowledged < 300 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert acknowledged >= 300, "the writer did not get going"
    with SQLiteMemoryManager(path, ttl=None) as manager:
        assert manager._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for n in range(max(0, acknowledged - 49), acknowledged + 1):
            found = texts(manager, f"c{n % 50}")
            latest = int(found[0].split()[1])
            assert latest >= n, f"write {n} was acknowledged and then lost"


@pytest.mark.requirement("MM-DUR-002")
def test_a_corrupt_file_is_a_backend_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(MemoryBackendError, match=r"memory\.db") as caught:
        SQLiteMemoryManager(path)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes() == b"this is not a database" * 100


@pytest.mark.requirement("MM-DUR-002")
def test_a_missing_directory_is_a_backend_error(tmp_path: Path) -> None:
    with pytest.raises(MemoryBackendError, match=r"open on .*missing.*failed"):
        SQLiteMemoryManager(tmp_path / "missing" / "memory.db")


@pytest.mark.requirement("MM-DUR-002")
def test_a_read_only_connection_fails_writes_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with SQLiteMemoryManager(path) as manager:
        manager.store(put("c", "kept"))
    manager = SQLiteMemoryManager(path)
    manager._db.execute("PRAGMA query_only = ON")
    with pytest.raises(MemoryBackendError, match=r"store on .* failed") as caught:
        manager.store(put("c", "lost?"))
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert texts(manager, "c") == ["kept"]
    manager.close()


@pytest.mark.requirement("MM-DUR-002")
def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    SQLiteMemoryManager(path).close()
    db = sqlite3.connect(path)
    db.execute(
        "UPDATE memspec_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    db.commit()
    db.close()
    with pytest.raises(MemoryBackendError, match=r"schema version 2; this memspec reads version 1"):
        SQLiteMemoryManager(path)


@pytest.mark.requirement("MM-DUR-002")
def test_a_damaged_row_is_an_error_naming_the_slot(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with SQLiteMemoryManager(path) as manager:
        manager.store(put("c", "x"))
        manager._db.execute("UPDATE memspec_slot SET record = '{\"format\": 1'")
        with pytest.raises(MemoryBackendError, match="memspec_slot/WORKING_MEMORY/c"):
            manager.retrieve(put("c"))


@pytest.mark.requirement("MM-META-002")
def test_rows_are_stored_records_with_metadata(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with SQLiteMemoryManager(path) as manager:
        manager.store(put("c", "x", metadata={"a": 1}))
        manager.update(put("c", "y"))
        (record,) = manager._db.execute("SELECT record FROM memspec_slot").fetchone()
    assert '"metadata":{"a":1}' in record and '"working_memory":"y"' in record


@pytest.mark.requirement("MM-TTL-011")
def test_purge_is_bounded_and_uses_the_expiry_index(tmp_path: Path) -> None:
    clock = FakeClock(0)
    with SQLiteMemoryManager(tmp_path / "memory.db", ttl=10, clock=clock) as manager:
        for i in range(_PURGE_EVERY * 5):  # ending on a whole purge period
            manager.store(put(f"old{i}", "x"))
        clock.advance(10)
        for i in range(_PURGE_EVERY):  # one period of stores: exactly one bounded purge
            manager.store(put(f"new{i}", "y"))
        remaining = manager._db.execute("SELECT count(*) FROM memspec_slot").fetchone()[0]
        assert remaining == _PURGE_EVERY * 5 - _PURGE_BATCH + _PURGE_EVERY
        plan = " ".join(
            str(row)
            for row in manager._db.execute(
                "EXPLAIN QUERY PLAN SELECT conversation_id FROM memspec_slot "
                "WHERE expires_at IS NOT NULL AND expires_at <= 1 ORDER BY expires_at LIMIT 5"
            )
        )
        assert "memspec_slot_expiry" in plan
        assert manager.clear_expired() == _PURGE_EVERY * 5 - _PURGE_BATCH
        assert len(manager) == _PURGE_EVERY


def test_store_is_one_statement_and_the_record_is_the_models(tmp_path: Path) -> None:
    statements: list[str] = []
    with SQLiteMemoryManager(tmp_path / "memory.db", ttl=None) as manager:
        manager.store(put("warm-up", "x"))  # the first store of a period also purges
        manager._db.set_trace_callback(statements.append)
        request = put("c\x00é", "a", "b\u2028", metadata={"at": [1, 2.5, None]})
        manager.store(request)
        manager._db.set_trace_callback(None)
        (record,) = manager._db.execute(
            "SELECT record FROM memspec_slot WHERE conversation_id = ?", ("c\x00é",)
        ).fetchone()
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO memspec_slot")
    assert (
        record
        == StoredRecord(
            conversation_id="c\x00é",
            memory_type=request.memory_type,
            data=request.data or [],
            metadata={"at": [1, 2.5, None]},
        ).model_dump_json()
    )


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ttl"):
        SQLiteMemoryManager(tmp_path / "m.db", ttl=0)
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteMemoryManager(tmp_path / "m.db", synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock"):
        SQLiteMemoryManager(tmp_path / "m.db", clock=5)  # type: ignore[arg-type]


def test_two_managers_on_one_file_from_threads_agree(tmp_path: Path) -> None:
    from memspec.conformance.concurrency import hammer_threads
    from memspec.conformance.driver import Driver
    from memspec.conformance.linearizability import explain

    with Driver(SQLiteMemoryManager(tmp_path / "m.db", ttl=None)) as driver:
        workload = hammer_threads(driver, threads=4, operations=60, seed=3)
    assert workload.errors == []
    assert explain(workload.events, workload.final) is None


def test_repr_names_the_file() -> None:
    manager = temporary_sqlite_manager(ttl=5)
    assert repr(manager).startswith("SQLiteMemoryManager('/") and "ttl=5.0" in repr(manager)
    directory = manager.path.parent
    manager.close()
    assert not directory.exists()


OPERATIONS = ("store", "retrieve", "update", "delete")


def request_for(operation: str) -> IMemoryInput:
    return put("c", "during") if operation in ("store", "update") else put("c")


@pytest.mark.requirement("MM-DUR-002")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_every_operation_fails_during_an_outage_and_the_same_manager_recovers(
    is_async: bool,
) -> None:
    factory = temporary_async_sqlite_manager if is_async else temporary_sqlite_manager
    driver = Driver(factory(ttl=60))
    second = Driver(factory.memspec_reopen(driver.manager))  # type: ignore[attr-defined]
    try:
        driver.store(put("c", "before"))
        with factory.memspec_outage(driver.manager):  # type: ignore[attr-defined]
            for operation in OPERATIONS:
                with pytest.raises(MemoryBackendError, match=f"^{operation} on .*was moved"):
                    driver.call(operation, request_for(operation))
        assert [i.working_memory for i in driver.retrieve(put("c"))] == ["before"]
        driver.update(put("c", "after"))
        assert [i.working_memory for i in second.retrieve(put("c"))] == ["after"]
    finally:
        for each in (second, driver):
            close_manager(each)
            each.close()


@pytest.mark.requirement("MM-DUR-002")
def test_writes_to_a_deleted_or_replaced_file_fail_instead_of_vanishing(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with SQLiteMemoryManager(path) as manager:
        manager.store(put("c", "x"))
        path.unlink()
        with pytest.raises(MemoryBackendError, match="moved, removed or replaced"):
            manager.store(put("c", "acknowledged, then lost?"))
        SQLiteMemoryManager(path).close()  # a new, empty file at the same path
        with pytest.raises(MemoryBackendError, match="moved, removed or replaced"):
            manager.retrieve(put("c"))
