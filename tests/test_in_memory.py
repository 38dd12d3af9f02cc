"""The reference InMemoryManager, rule by rule, plus what only an implementation can show."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import tracemalloc
from types import SimpleNamespace
from typing import Any

import pytest
from memspec import ConversationMemoryType, IMemoryInput, IWorkingMemory, StoredRecord
from memspec.conformance.concurrency import hammer_tasks, hammer_threads
from memspec.conformance.driver import Driver
from memspec.conformance.linearizability import explain
from memspec.conformance.target import FakeClock
from memspec.reference import AsyncInMemoryManager, InMemoryManager

WM = ConversationMemoryType.WORKING_MEMORY
ST = ConversationMemoryType.SHORT_TERM_MEMORY
LT = ConversationMemoryType.LONG_TERM_MEMORY
EPS = 2**-20


def put(
    cid: str, *texts: str, memory_type: ConversationMemoryType = WM, **extra: Any
) -> IMemoryInput:
    data = [IWorkingMemory(working_memory=t) for t in texts] or None
    return IMemoryInput(conversation_id=cid, memory_type=memory_type, data=data, **extra)


def read(manager: InMemoryManager, cid: str, memory_type: ConversationMemoryType = WM) -> list[str]:
    return [i.working_memory for i in manager.retrieve(put(cid, memory_type=memory_type))]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def manager(clock: FakeClock) -> InMemoryManager:
    return InMemoryManager(ttl=60, clock=clock)


# -- operations ---------------------------------------------------------------------------


@pytest.mark.requirement("MM-STORE-002", "MM-STORE-003", "MM-RETR-001")
def test_store_keeps_all_items_in_order_and_replaces(manager: InMemoryManager) -> None:
    manager.store(put("c", "a", "b", "c"))
    assert read(manager, "c") == ["a", "b", "c"]
    manager.store(put("c", "z"))
    assert read(manager, "c") == ["z"]


@pytest.mark.requirement("MM-STORE-004", "MM-STORE-008", "MM-STORE-009")
def test_keys_are_stable_per_slot_and_distinct(manager: InMemoryManager) -> None:
    key = manager.store(put("c", "x"))
    assert key and manager.store(put("c", "y")) == key
    others = {
        manager.store(put(cid, "x", memory_type=t)) for cid in ("c", "c:", "C") for t in (WM, ST)
    }
    assert len(others) == 6 and key in others


@pytest.mark.requirement("MM-STORE-001", "MM-UPD-001", "MM-ERR-003")
@pytest.mark.parametrize("operation", ["store", "update"])
@pytest.mark.parametrize("data", [None, []])
def test_empty_writes_raise_and_change_nothing(
    manager: InMemoryManager, operation: str, data: Any
) -> None:
    manager.store(put("c", "kept"))
    with pytest.raises(ValueError, match="non-empty 'data'"):
        getattr(manager, operation)(IMemoryInput(conversation_id="c", data=data))
    assert read(manager, "c") == ["kept"]


@pytest.mark.requirement("MM-UPD-002", "MM-UPD-003")
def test_update_replaces_live_slots_and_never_creates(manager: InMemoryManager) -> None:
    manager.update(put("c", "x"))
    assert read(manager, "c") == [] and len(manager) == 0
    manager.store(put("c", "a"))
    manager.update(put("c", "b", "c"))
    assert read(manager, "c") == ["b", "c"]


@pytest.mark.requirement("MM-DEL-001", "MM-DEL-002", "MM-DEL-003")
def test_delete_removes_only_that_slot(manager: InMemoryManager) -> None:
    for t in (WM, ST, LT):
        manager.store(put("c", t.value, memory_type=t))
    manager.store(put("d", "other"))
    manager.delete(put("c"))
    manager.delete(put("c"))
    manager.update(put("c", "back?"))
    assert read(manager, "c") == []
    assert read(manager, "c", ST) == ["SHORT_TERM_MEMORY"]
    assert read(manager, "c", LT) == ["LONG_TERM_MEMORY"]
    assert read(manager, "d") == ["other"]


@pytest.mark.requirement("MM-STORE-007", "MM-RETR-003")
def test_no_aliasing_in_or_out(manager: InMemoryManager) -> None:
    data = [IWorkingMemory(working_memory="x")]
    metadata: dict[str, Any] = {"tags": ["a"]}
    request = IMemoryInput(conversation_id="c", data=data, metadata=metadata)
    manager.store(request)
    data.append(IWorkingMemory(working_memory="late"))
    metadata["tags"].append("b")
    returned = manager.retrieve(request)
    returned.append(IWorkingMemory(working_memory="mine"))
    assert read(manager, "c") == ["x"]
    assert manager.storage[manager.store(put("probe", "p"))].data[0].working_memory == "p"
    assert next(iter(manager.storage.values())).metadata == {"tags": ["a"]}


@pytest.mark.requirement("MM-STORE-007")
def test_mutable_foreign_items_are_copied(manager: InMemoryManager) -> None:
    item = SimpleNamespace(working_memory="before")
    request = SimpleNamespace(conversation_id="c", memory_type=WM, data=[item], metadata=None)
    manager.store(request)
    item.working_memory = "after"
    request.data.append(SimpleNamespace(working_memory="extra"))
    assert read(manager, "c") == ["before"]


@pytest.mark.requirement("MM-INPUT-002", "MM-INPUT-003")
def test_accepts_mappings_and_foreign_objects(manager: InMemoryManager) -> None:
    manager.store({"conversation_id": "m", "data": [{"working_memory": "from dict"}]})
    assert read(manager, "m") == ["from dict"]
    foreign = SimpleNamespace(
        conversation_id="o",
        memory_type="SHORT_TERM_MEMORY",
        data=[SimpleNamespace(working_memory="obj")],
    )
    manager.store(foreign)
    assert read(manager, "o", ST) == ["obj"]


@pytest.mark.requirement("MM-INPUT-004", "MM-ERR-003")
@pytest.mark.parametrize(
    "bad",
    [
        {"conversation_id": "", "data": [{"working_memory": "x"}]},
        {"conversation_id": "c", "memory_type": "NOPE", "data": [{"working_memory": "x"}]},
        {"conversation_id": "c", "data": [{"working_memory": "ok"}, {"working_memory": 1}]},
        None,
    ],
)
def test_invalid_input_raises_before_anything_changes(manager: InMemoryManager, bad: Any) -> None:
    manager.store(put("c", "kept"))
    for operation in ("store", "update", "retrieve", "delete"):
        with pytest.raises((ValueError, TypeError)):
            getattr(manager, operation)(bad)
    assert read(manager, "c") == ["kept"]


@pytest.mark.requirement("MM-ERR-003")
def test_metadata_that_cannot_be_copied_fails_the_write_cleanly(manager: InMemoryManager) -> None:
    manager.store(put("c", "kept"))
    with pytest.raises(TypeError):
        manager.store(put("c", "new", metadata={"lock": threading.Lock()}))
    assert read(manager, "c") == ["kept"]


@pytest.mark.requirement("MM-FID-001", "MM-FID-004")
def test_strings_round_trip_exactly(manager: InMemoryManager) -> None:
    texts = ["", " x ", "\x00", "\U0001f600", "é" * (1 << 20)]
    manager.store(put("c", *texts))
    assert read(manager, "c") == texts


@pytest.mark.requirement("MM-FID-003", "MM-ERR-003")
def test_a_lone_surrogate_is_refused_naming_the_item(manager: InMemoryManager) -> None:
    manager.store(put("c", "kept"))
    with pytest.raises(ValueError, match=r"data\[1\]\.working_memory holds a lone surrogate"):
        manager.store(put("c", "fine", "\ud800 lone surrogate"))
    assert read(manager, "c") == ["kept"]


@pytest.mark.requirement("MM-META-002")
def test_metadata_is_kept_and_replaced_only_when_given(manager: InMemoryManager) -> None:
    key = manager.store(put("c", "x"))
    assert manager.storage[key].metadata == {}
    manager.store(put("c", "x", metadata={"a": 1}))
    manager.update(put("c", "y"))
    assert manager.storage[key].metadata == {"a": 1}
    manager.update(put("c", "y", metadata={"b": 2}))
    assert manager.storage[key] == StoredRecord(
        conversation_id="c",
        memory_type=WM,
        data=[IWorkingMemory(working_memory="y")],
        metadata={"b": 2},
    )


# -- TTL ----------------------------------------------------------------------------------


@pytest.mark.requirement("MM-TTL-001", "MM-TTL-002", "MM-TTL-003")
def test_exact_expiry_boundary(manager: InMemoryManager, clock: FakeClock) -> None:
    manager.store(put("c", "x"))
    clock.advance(60 - EPS)
    assert read(manager, "c") == ["x"]
    clock.advance(EPS)
    assert read(manager, "c") == []
    manager.update(put("c", "revived?"))
    assert read(manager, "c") == []
    assert len(manager) == 0


@pytest.mark.requirement("MM-TTL-006")
def test_fractional_ttl(clock: FakeClock) -> None:
    manager = InMemoryManager(ttl=0.25, clock=clock)
    manager.store(put("c", "x"))
    clock.advance(0.25 - EPS)
    assert read(manager, "c") == ["x"]
    clock.advance(EPS)
    assert read(manager, "c") == []


@pytest.mark.requirement("MM-TTL-004", "MM-TTL-005")
def test_writes_restart_the_lifetime_and_reads_do_not(
    manager: InMemoryManager, clock: FakeClock
) -> None:
    manager.store(put("c", "x"))
    clock.advance(50)
    manager.update(put("c", "y"))
    clock.advance(50)
    assert read(manager, "c") == ["y"]
    clock.advance(10 - EPS)
    assert read(manager, "c") == ["y"]
    clock.advance(EPS)
    assert read(manager, "c") == []


@pytest.mark.requirement("MM-TTL-007", "MM-TTL-009", "MM-TTL-010")
def test_ttl_none_and_the_default(clock: FakeClock) -> None:
    forever = InMemoryManager(ttl=None, clock=clock)
    default = InMemoryManager(clock=clock)
    assert default.ttl == 43200
    forever.store(put("c", "x"))
    default.store(put("c", "x"))
    clock.advance(43200)
    assert read(forever, "c") == ["x"] and read(default, "c") == []


@pytest.mark.requirement("MM-TTL-008")
@pytest.mark.parametrize("bad", [0, -1, -0.5, True, False, "60", float("nan"), float("inf")])
def test_bad_ttl_is_rejected_at_construction(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="ttl"):
        InMemoryManager(ttl=bad)


@pytest.mark.requirement("MM-TTL-002", "MM-TTL-003")
def test_default_clock_is_real_time() -> None:
    manager = InMemoryManager(ttl=1.0)
    manager.store(put("c", "x"))
    assert read(manager, "c") == ["x"]  # fails only if this machine stalls for a second
    threading.Event().wait(1.01)
    assert read(manager, "c") == []


@pytest.mark.requirement("MM-TTL-011")
def test_cleanup_is_bounded_per_operation_and_complete_on_demand(
    manager: InMemoryManager, clock: FakeClock
) -> None:
    for i in range(1000):
        manager.store(put(f"old{i}", "x"))
    clock.advance(60)
    manager.store(put("new", "y"))
    stats = manager.stats()
    assert stats.expired_pending == 1000 - 16
    assert stats.live == 1
    assert manager.clear_expired() == 1000 - 16
    assert manager._clear_expired_memory() == 0
    assert manager.stats().expired_pending == 0 and manager.stats().purged == 1000


def test_clock_going_backwards_still_purges_everything(clock: FakeClock) -> None:
    now = [100.0]
    manager = InMemoryManager(ttl=10, clock=lambda: now[0])
    manager.store(put("late", "x"))  # expires at 110
    now[0] = 50.0
    manager.store(put("early", "y"))  # expires at 60, behind "late" in write order
    now[0] = 70.0
    assert read(manager, "early") == [] and read(manager, "late") == ["x"]
    assert manager.clear_expired() == 1
    assert list(manager.storage) == ["memory:WORKING_MEMORY:late"]
    now[0] = 200.0
    assert len(manager) == 0


# -- capacity -----------------------------------------------------------------------------


@pytest.mark.requirement("MM-EVICT-001", "MM-EVICT-002")
def test_max_entries_evicts_the_least_recently_written(clock: FakeClock) -> None:
    manager = InMemoryManager(ttl=60, clock=clock, max_entries=3)
    for cid in "abc":
        manager.store(put(cid, cid))
    manager.update(put("a", "a2"))  # a is now the most recently written
    manager.retrieve(put("b"))  # reads do not count
    manager.store(put("d", "d"))
    assert sorted(k.rsplit(":", 1)[1] for k in manager.storage) == ["a", "c", "d"]
    assert read(manager, "b") == [] and read(manager, "a") == ["a2"]
    manager.update(put("b", "back?"))
    assert read(manager, "b") == []
    assert manager.stats().evicted == 1


@pytest.mark.requirement("MM-EVICT-001")
def test_expired_slots_go_before_live_ones_are_evicted(clock: FakeClock) -> None:
    manager = InMemoryManager(ttl=10, clock=clock, max_entries=2)
    manager.store(put("a", "a"))
    clock.advance(5)
    manager.store(put("b", "b"))
    clock.advance(5)
    manager.store(put("c", "c"))
    assert read(manager, "b") == ["b"] and read(manager, "c") == ["c"]
    assert manager.stats().evicted == 0


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "10"])
def test_bad_max_entries_is_rejected(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="max_entries"):
        InMemoryManager(max_entries=bad)


# -- observability --------------------------------------------------------------------------


def test_storage_view_is_read_only_and_live(manager: InMemoryManager, clock: FakeClock) -> None:
    key = manager.store(put("c", "x"))
    view = manager.storage
    assert len(view) == 1 and list(view.keys()) == [key] and key in view
    assert not hasattr(view, "__setitem__")
    with pytest.raises(TypeError):
        view[key] = None  # type: ignore[index]
    clock.advance(60)
    assert key not in view and len(view) == 0
    with pytest.raises(KeyError):
        view[key]


def test_stats_counts_types_and_bytes(manager: InMemoryManager, clock: FakeClock) -> None:
    manager.store(put("a", "x" * 1000))
    manager.store(put("a", "y", memory_type=ST))
    clock.advance(30)
    manager.store(put("b", "z"))
    clock.advance(30)
    stats = manager.stats()
    assert (stats.live, stats.expired_pending) == (1, 2)
    assert stats.by_type == {"WORKING_MEMORY": 1, "SHORT_TERM_MEMORY": 0, "LONG_TERM_MEMORY": 0}
    assert stats.approx_bytes > 1000
    assert len(manager) == 1


@pytest.mark.requirement("MM-SEC-002")
def test_nothing_is_logged_at_info(
    manager: InMemoryManager, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        manager.store(put("c", "secret memory"))
        manager.update(put("c", "secret update"))
        manager.retrieve(put("c"))
        manager.delete(put("c"))
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]
    assert "secret" not in caplog.text


# -- concurrency ----------------------------------------------------------------------------


@pytest.mark.requirement("MM-CONC-001", "MM-CONC-002", "MM-CONC-003")
@pytest.mark.parametrize("seed", range(3))
def test_many_threads_agree_with_a_serial_order(seed: int) -> None:
    with Driver(InMemoryManager(ttl=None)) as driver:
        workload = hammer_threads(driver, threads=8, operations=300, seed=seed)
    assert workload.errors == [] and workload.unfinished == 0
    assert len(workload.events) == 8 * 300
    assert explain(workload.events, workload.final) is None


@pytest.mark.requirement("MM-ASYNC-001", "MM-ASYNC-002")
def test_async_twin_has_the_same_semantics(clock: FakeClock) -> None:
    manager = AsyncInMemoryManager(ttl=60, clock=clock, max_entries=100)

    async def scenario() -> list[str]:
        key = await manager.store(put("c", "a", "b"))
        assert key == "memory:WORKING_MEMORY:c"
        await manager.update(put("c", "c"))
        await manager.update(put("missing", "x"))
        await manager.delete(put("gone"))
        return [i.working_memory for i in await manager.retrieve(put("c"))]

    assert asyncio.run(scenario()) == ["c"]
    assert len(manager) == 1 and manager.stats().live == 1 and len(manager.storage) == 1
    clock.advance(60)
    assert manager.clear_expired() == 1


@pytest.mark.requirement("MM-ASYNC-002")
def test_async_tasks_agree_with_a_serial_order() -> None:
    with Driver(AsyncInMemoryManager(ttl=None)) as driver:
        workload = hammer_tasks(driver, tasks=8, operations=200, seed=1)
    assert workload.errors == []
    assert explain(workload.events, workload.final) is None


def test_repr_names_settings_only(manager: InMemoryManager) -> None:
    manager.store(put("c", "private"))
    assert repr(manager) == "InMemoryManager(ttl=60.0, max_entries=None)"
    assert "private" not in repr(manager.storage)


def test_deleted_slots_release_their_content(manager: InMemoryManager) -> None:
    tracemalloc.start()
    try:
        manager.store(put("c", "x" * 1_000_000))
        assert manager.stats().approx_bytes > 1_000_000
        assert tracemalloc.get_traced_memory()[0] > 1_000_000
        manager.delete(put("c"))
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] < 100_000
    finally:
        tracemalloc.stop()
