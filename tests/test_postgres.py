"""The PostgreSQL managers against a real server that the fixture starts: certification,
statements, schema versioning, outages, error mapping and secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import jsonschema
import psycopg
import pytest
from conftest import _free_port
from memspec import IMemoryInput, IWorkingMemory, MemoryBackendError
from memspec.conformance import Target, certify
from memspec.reference.postgres import (
    PURGE_BATCH,
    PURGE_EVERY,
    SCHEMA_VERSION,
    AsyncPostgresMemoryManager,
    PostgresMemoryManager,
    isolated_async_postgres_manager,
    isolated_postgres_manager,
    redact,
)
from memspec.schemas import load_schema
from postgres_server import PASSWORD_ROLE, PostgresServer
from psycopg.conninfo import conninfo_to_dict

pytestmark = pytest.mark.postgres

OPERATIONS = ("store", "retrieve", "update", "delete")


def put(cid: str, *texts: str, **extra: Any) -> IMemoryInput:
    data = [IWorkingMemory(working_memory=t) for t in texts] or None
    return IMemoryInput(conversation_id=cid, data=data, **extra)


def texts(manager: PostgresMemoryManager, cid: str) -> list[str]:
    return [item.working_memory for item in manager.retrieve(put(cid))]


def request_for(operation: str) -> IMemoryInput:
    return put("c", "during") if operation in ("store", "update") else put("c")


def sql(server: PostgresServer, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of the test's own and return its rows."""
    with psycopg.connect(server.url, autocommit=True) as conn:
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def fresh_schema() -> str:
    return f"memspec_test_{uuid.uuid4().hex}"


class Counting(psycopg.Connection[Any]):
    """A real connection that also records every statement it sends."""

    sent: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        Counting.sent.append(str(query))
        return super().execute(query, params, **options)


@pytest.fixture
def manager(postgres_server: PostgresServer) -> Iterator[PostgresMemoryManager]:
    with isolated_postgres_manager(ttl=60, conninfo=postgres_server.url) as made:
        yield made


# -- certification ------------------------------------------------------------------------


@pytest.mark.requirement("MM-DUR-001", "MM-DUR-002")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_certified_on_every_profile(postgres_server: PostgresServer, is_async: bool) -> None:
    isolated = isolated_async_postgres_manager if is_async else isolated_postgres_manager

    def factory(ttl: float | None = 43200) -> Any:
        return isolated(ttl=ttl, conninfo=postgres_server.url)

    factory.memspec_reopen = isolated.memspec_reopen  # type: ignore[attr-defined]
    factory.memspec_outage = isolated.memspec_outage  # type: ignore[attr-defined]
    report = certify(Target.from_factory(factory, name="postgres"), depth="quick", seed=5)
    expected = ["core", "ttl", "async" if is_async else "concurrency", "persistence"]
    assert [p.value for p in report.profiles] == expected
    assert report.conformant, [(r.message, r.reproduction) for r in report.failures]


# -- outages through the factories' hook --------------------------------------------------


@pytest.mark.requirement("MM-DUR-002")
def test_every_operation_fails_during_an_outage_and_the_same_manager_recovers(
    postgres_server: PostgresServer,
) -> None:
    manager = isolated_postgres_manager(ttl=60, conninfo=postgres_server.url)
    second = isolated_postgres_manager.memspec_reopen(manager)  # type: ignore[attr-defined]
    try:
        manager.store(put("c", "before"))
        with isolated_postgres_manager.memspec_outage(manager):  # type: ignore[attr-defined]
            for operation in OPERATIONS:
                with pytest.raises(MemoryBackendError, match=f"^{operation} on PostgreSQL") as got:
                    getattr(manager, operation)(request_for(operation))
                assert isinstance(got.value.__cause__, psycopg.OperationalError)
            assert texts(second, "c") == ["before"]  # only that manager's link is cut
        assert texts(manager, "c") == ["before"]
        manager.update(put("c", "after"))
        assert texts(second, "c") == ["after"]
    finally:
        second.close()
        manager.close()


@pytest.mark.requirement("MM-DUR-002")
def test_the_async_manager_fails_during_an_outage_and_recovers(
    postgres_server: PostgresServer,
) -> None:
    async def scenario() -> None:
        manager = isolated_async_postgres_manager(ttl=60, conninfo=postgres_server.url)
        try:
            await manager.store(put("c", "before"))
            with isolated_async_postgres_manager.memspec_outage(manager):  # type: ignore[attr-defined]
                for operation in OPERATIONS:
                    with pytest.raises(MemoryBackendError, match=f"^{operation} on Postgre"):
                        await getattr(manager, operation)(request_for(operation))
            got = await manager.retrieve(put("c"))
            assert [item.working_memory for item in got] == ["before"]
            await manager.store(put("c", "after"))
            assert [i.working_memory for i in await manager.retrieve(put("c"))] == ["after"]
        finally:
            await manager.aclose()

    asyncio.run(scenario())


def test_isolated_managers_clean_up_their_schema_and_proxy(postgres_server: PostgresServer) -> None:
    manager = isolated_postgres_manager(ttl=60, conninfo=postgres_server.url)
    manager.store(put("c", "x"))
    proxy = manager._memspec_proxy  # type: ignore[attr-defined]
    assert proxy.connections >= 1
    found = "SELECT count(*) FROM pg_namespace WHERE nspname = %s"
    assert sql(postgres_server, found, manager.schema) == [(1,)]
    manager.close()
    assert sql(postgres_server, found, manager.schema) == [(0,)]
    assert proxy.connections == 0 and proxy.is_cut


# -- statements, rows and expiry ------------------------------------------------------------


def test_one_statement_per_operation_and_a_purge_before_one_store_in_each_period(
    postgres_server: PostgresServer,
) -> None:
    options = {"pool_options": {"connection_class": Counting}}
    with PostgresMemoryManager(
        postgres_server.url, ttl=30, schema=fresh_schema(), **options
    ) as manager:
        manager.retrieve(put("warm-up"))  # creates the tables
        for operation, request in [
            ("store", put("c", "x")),
            ("retrieve", put("c")),
            ("update", put("c", "y", metadata={"m": 1})),
            ("update", put("c", "z")),
            ("delete", put("c")),
        ]:
            Counting.sent.clear()
            getattr(manager, operation)(request)
            assert len(Counting.sent) == 1, (operation, Counting.sent)
        statements = []
        for n in range(PURGE_EVERY):
            Counting.sent.clear()
            manager.store(put(f"s{n}", "x"))
            statements += Counting.sent
        assert len(statements) == PURGE_EVERY + 1
        assert sum(s.startswith("DELETE FROM") and "SKIP LOCKED" in s for s in statements) == 1
    sql(postgres_server, f"DROP SCHEMA {manager.schema} CASCADE")


@pytest.mark.requirement("MM-META-002", "MM-FID-001")
def test_rows_hold_the_stored_record_and_any_string(
    manager: PostgresMemoryManager, postgres_server: PostgresServer
) -> None:
    odd = "conv\x00:*é😀 "
    key = manager.store(put(odd, "a\x00b", "", "😀" * 3, metadata={"source": "test"}))
    assert key == f"{manager.schema}.memspec_slot/WORKING_MEMORY/{odd}"
    assert texts(manager, odd) == ["a\x00b", "", "😀😀😀"]
    ((cid, memory_type, data, metadata),) = sql(
        postgres_server,
        f"SELECT conversation_id, memory_type, data::text, metadata::text "
        f"FROM {manager.schema}.memspec_slot",
    )
    record = {
        "format": 1,
        "conversation_id": bytes(cid).decode("utf-8"),
        "memory_type": memory_type,
        "data": json.loads(data),
        "metadata": json.loads(metadata),
    }
    jsonschema.validate(record, load_schema("stored-record"))
    assert record["conversation_id"] == odd and record["metadata"] == {"source": "test"}


@pytest.mark.requirement("MM-META-002", "MM-TTL-004", "MM-UPD-003")
def test_update_keeps_metadata_unless_given_and_restarts_the_lifetime(
    manager: PostgresMemoryManager, postgres_server: PostgresServer
) -> None:
    table = f"{manager.schema}.memspec_slot"
    manager.store(put("c", "x", metadata={"a": 1}))
    sql(postgres_server, f"UPDATE {table} SET expires_at = now() + interval '1 second'")
    manager.update(put("c", "y", "z"))
    ((metadata, left),) = sql(
        postgres_server,
        f"SELECT metadata::text, extract(epoch FROM expires_at - now()) FROM {table}",
    )
    assert json.loads(metadata) == {"a": 1} and left > 59
    assert texts(manager, "c") == ["y", "z"]
    manager.update(put("c", "w", metadata={"b": 2}))
    assert sql(postgres_server, f"SELECT metadata::text FROM {table}") == [('{"b":2}',)]
    sql(postgres_server, f"UPDATE {table} SET expires_at = now() - interval '1 second'")
    manager.update(put("c", "revived?"))
    assert texts(manager, "c") == []
    manager.update(put("missing", "x"))
    assert sql(postgres_server, f"SELECT count(*) FROM {table}") == [(1,)]  # the expired one


@pytest.mark.requirement("MM-TTL-011")
def test_purge_is_bounded_and_uses_the_expiry_index(
    manager: PostgresMemoryManager, postgres_server: PostgresServer
) -> None:
    table = f"{manager.schema}.memspec_slot"
    manager.retrieve(put("warm-up"))  # creates the tables
    expired = PURGE_BATCH * 3
    sql(
        postgres_server,
        f"INSERT INTO {table} SELECT convert_to('old' || n, 'UTF8'), 'WORKING_MEMORY', "
        "'[{\"working_memory\":\"x\"}]', '{}', now() - interval '1 hour' "
        "FROM generate_series(1, %s) AS n",
        expired,
    )
    for n in range(PURGE_EVERY):  # one period of stores: exactly one bounded purge
        manager.store(put(f"new{n}", "y"))
    remaining = sql(postgres_server, f"SELECT count(*) FROM {table}")[0][0]
    assert remaining == expired - PURGE_BATCH + PURGE_EVERY
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            f"EXPLAIN SELECT ctid FROM {table} WHERE expires_at <= now() "
            "ORDER BY expires_at LIMIT 5"
        ).fetchall()
    assert "memspec_slot_expiry" in " ".join(row[0] for row in plan)
    assert manager.clear_expired() == expired - PURGE_BATCH
    assert len(manager) == PURGE_EVERY


@pytest.mark.requirement("MM-CONC-001")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_purging_store_cannot_deadlock_with_a_writer_of_its_expired_rows(
    postgres_server: PostgresServer, is_async: bool
) -> None:
    """A purging store whose slot another transaction holds must not keep the expired rows it
    purges locked while it waits: a writer of one of them would close a cycle, and PostgreSQL
    would abort one of the two (here the store, whose deadlock timeout runs out first)."""
    isolated = isolated_async_postgres_manager if is_async else isolated_postgres_manager
    manager: Any = isolated(ttl=60, conninfo=postgres_server.url)
    table = f"{manager.schema}.memspec_slot"
    tables_made, rows_held = threading.Event(), threading.Event()
    outcome: list[object] = []

    async def call(operation: str, request: IMemoryInput) -> Any:
        result = getattr(manager, operation)(request)
        return await result if is_async else result

    async def scenario() -> None:  # in one event loop, which the async manager's pool needs
        try:
            await call("retrieve", put("warm-up"))  # creates the tables
            tables_made.set()
            await asyncio.to_thread(rows_held.wait, 30)
            for n in range(PURGE_EVERY - 1):  # plain upserts
                await call("store", put(f"other{n}", "x"))
            await call("store", put("held", "new"))  # the purging one: it waits for "held"
            outcome.append([item.working_memory for item in await call("retrieve", put("held"))])
        except Exception as exc:  # the test reports it
            outcome.append(exc)
        finally:
            await (manager.aclose() if is_async else asyncio.to_thread(manager.close))

    writer = threading.Thread(target=asyncio.run, args=(scenario(),), daemon=True)
    writer.start()
    assert tables_made.wait(30), outcome
    sql(
        postgres_server,
        f"INSERT INTO {table} VALUES (convert_to('held', 'UTF8'), 'WORKING_MEMORY', "
        "'[{\"working_memory\":\"old\"}]', '{}', now() + interval '1 hour'), "
        "(convert_to('expired', 'UTF8'), 'WORKING_MEMORY', "
        "'[{\"working_memory\":\"x\"}]', '{}', now() - interval '1 hour')",
    )
    with psycopg.connect(postgres_server.url) as holder:
        holder.execute("SET deadlock_timeout = '20s'")
        holder.execute(
            f"SELECT 1 FROM {table} WHERE conversation_id = convert_to('held', 'UTF8') FOR UPDATE"
        )
        rows_held.set()
        for _ in range(400):  # until the purging store waits for the held row
            waiting = sql(
                postgres_server,
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )
            if waiting[0][0] or not writer.is_alive():
                break
            time.sleep(0.025)
        holder.execute(
            f"UPDATE {table} SET data = data WHERE conversation_id = convert_to('expired', 'UTF8')"
        )
    writer.join(30)
    assert outcome == [["new"]], outcome


# -- schema ----------------------------------------------------------------------------------


def test_the_schema_is_created_on_first_use_once_even_by_racing_managers(
    postgres_server: PostgresServer,
) -> None:
    schema = fresh_schema()
    managers = [PostgresMemoryManager(postgres_server.url, schema=schema) for _ in range(4)]
    meta = f"{schema}.memspec_meta"
    assert sql(postgres_server, "SELECT to_regclass(%s) IS NULL", meta) == [(True,)]
    errors: list[BaseException] = []

    def first_use(manager: PostgresMemoryManager, n: int) -> None:
        try:
            manager.store(put(f"c{n}", "x"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(m, n)) for n, m in enumerate(managers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sql(postgres_server, f"SELECT key, value FROM {meta}") == [
        ("schema_version", str(SCHEMA_VERSION))
    ]
    assert len(managers[0]) == 4
    for manager in managers:
        manager.close()
    sql(postgres_server, f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.requirement("MM-DUR-002")
def test_a_newer_schema_version_is_refused_with_a_clear_error(
    postgres_server: PostgresServer,
) -> None:
    schema = fresh_schema()
    with PostgresMemoryManager(postgres_server.url, schema=schema) as manager:
        manager.store(put("c", "kept"))
    sql(postgres_server, f"UPDATE {schema}.memspec_meta SET value = %s", str(SCHEMA_VERSION + 1))
    with PostgresMemoryManager(postgres_server.url, schema=schema) as newer:
        for operation in OPERATIONS:  # every operation refuses, and nothing is written
            with pytest.raises(MemoryBackendError, match="schema version 2; this memspec reads"):
                getattr(newer, operation)(request_for(operation))
    count = sql(postgres_server, f"SELECT count(*) FROM {schema}.memspec_slot")
    assert count == [(1,)]
    sql(postgres_server, f"DROP SCHEMA {schema} CASCADE")


# -- failures --------------------------------------------------------------------------------


@pytest.mark.requirement("MM-DUR-002")
def test_a_row_that_is_not_a_record_is_an_error_naming_the_slot(
    manager: PostgresMemoryManager, postgres_server: PostgresServer
) -> None:
    manager.store(put("c", "x"))
    table = f"{manager.schema}.memspec_slot"
    sql(postgres_server, f'UPDATE {table} SET data = \'{{"not": "a list"}}\'')
    with pytest.raises(MemoryBackendError, match=r"WORKING_MEMORY/c' .* not a memspec"):
        manager.retrieve(put("c"))
    assert sql(postgres_server, f"SELECT data::text FROM {table}") == [('{"not": "a list"}',)]


@pytest.mark.requirement("MM-DUR-002")
def test_a_server_that_is_not_there_is_a_backend_error_for_every_operation() -> None:
    conninfo = f"host=127.0.0.1 port={_free_port()} user=nobody dbname=none"
    with PostgresMemoryManager(conninfo, timeout=0.3, connect_timeout=1) as manager:
        for operation in OPERATIONS:
            with pytest.raises(MemoryBackendError, match="Connection refused") as got:
                getattr(manager, operation)(request_for(operation))
            assert isinstance(got.value.__cause__, psycopg.OperationalError)


@pytest.mark.requirement("MM-DUR-002")
def test_a_database_error_is_a_backend_error_chained_to_psycopgs(
    manager: PostgresMemoryManager, postgres_server: PostgresServer
) -> None:
    manager.store(put("c", "x"))
    sql(postgres_server, f"ALTER TABLE {manager.schema}.memspec_slot RENAME TO gone")
    for operation in OPERATIONS:
        with pytest.raises(MemoryBackendError, match=f"^{operation} on .*UndefinedTable") as got:
            getattr(manager, operation)(request_for(operation))
        assert isinstance(got.value.__cause__, psycopg.errors.UndefinedTable)
    sql(postgres_server, f"ALTER TABLE {manager.schema}.gone RENAME TO memspec_slot")
    assert texts(manager, "c") == ["x"]


@pytest.mark.requirement("MM-SEC-001", "MM-DUR-002")
def test_a_wrong_password_is_a_clear_error_without_the_password(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "Wr0ng-Secret-Value"
    url = f"postgresql://{PASSWORD_ROLE}:{wrong}@127.0.0.1:{postgres_server.port}/postgres"
    with caplog.at_level(logging.DEBUG):
        manager = PostgresMemoryManager(url, timeout=0.5)
        with pytest.raises(MemoryBackendError) as caught:
            manager.store(put("c", "x"))
        manager.close()
    seen = [str(caught.value), repr(caught.value), repr(manager), caplog.text]
    assert "password authentication failed" in str(caught.value)
    assert all(wrong not in text for text in seen)
    assert "password=***" in repr(manager)


@pytest.mark.requirement("MM-SEC-001")
def test_the_right_password_works_and_stays_hidden(postgres_server: PostgresServer) -> None:
    schema = fresh_schema()
    with PostgresMemoryManager(postgres_server.password_url, schema=schema) as manager:
        manager.store(put("c", "x"))
        assert texts(manager, "c") == ["x"]
        assert postgres_server.password not in repr(manager)
    sql(postgres_server, f"DROP SCHEMA {schema} CASCADE")


def test_redact_hides_only_the_password() -> None:
    url = redact("postgresql://app:pw@db:5433/mem?sslmode=require")
    assert conninfo_to_dict(url) == {
        "user": "app",
        "password": "***",
        "host": "db",
        "port": "5433",
        "dbname": "mem",
        "sslmode": "require",
    }
    pairs = redact("host=db password='p w' user=app")
    assert conninfo_to_dict(pairs) == {"host": "db", "password": "***", "user": "app"}
    assert conninfo_to_dict(redact("host=db user=app")) == {"host": "db", "user": "app"}
    assert redact("host=db password") == "<unparsable conninfo>"


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"ttl": 0}, ValueError, "ttl"),
        ({"schema": ""}, ValueError, "schema"),
        ({"schema": "x" * 64}, ValueError, "schema"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"min_size": 5, "max_size": 2}, ValueError, "max_size"),
        ({"conninfo": "host=db password=s3cret-value broken"}, ValueError, "^conninfo is not"),
        ({"conninfo": b"host=db"}, TypeError, "conninfo"),
    ],
)
def test_bad_arguments_are_refused(options: dict[str, Any], error: type, match: str) -> None:
    conninfo = options.pop("conninfo", "host=127.0.0.1")
    with pytest.raises(error, match=match) as caught:
        PostgresMemoryManager(conninfo, **options)
    assert "s3cret-value" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_the_async_manager_round_trip_and_count(postgres_server: PostgresServer) -> None:
    schema = fresh_schema()

    async def scenario() -> None:
        manager = AsyncPostgresMemoryManager(postgres_server.url, ttl=60, schema=schema)
        try:
            key = await manager.store(put("c", "a", "b", metadata={"m": 1}))
            assert key == f"{schema}.memspec_slot/WORKING_MEMORY/c"
            await manager.update(put("c", "z"))
            assert [i.working_memory for i in await manager.retrieve(put("c"))] == ["z"]
            assert await manager.count() == 1 and await manager.clear_expired() == 0
            await manager.delete(put("c"))
            assert await manager.retrieve(put("c")) == []
        finally:
            await manager.aclose()

    asyncio.run(scenario())
    sql(postgres_server, f"DROP SCHEMA {schema} CASCADE")
