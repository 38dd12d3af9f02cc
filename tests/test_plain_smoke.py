"""Smoke tests of the plainly written managers in ``corpus/plain.py`` (not the conformance
suite): the basics of each, their own bounds, and a memcached round trip."""

# The memcached fixture is imported, then named by the tests' parameters:
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import enum
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from corpus.plain import (
    PLAIN,
    BoundedItemManager,
    CopyOnWriteManager,
    MemcachedManager,
    PlainAsyncManager,
    PlainDictManager,
    PlainSqliteManager,
    ThirtyDayManager,
)
from memcached_server import MemcachedServer, memcached_server  # noqa: F401 (a fixture)

CLOCKED = (
    PlainDictManager,
    PlainSqliteManager,
    PlainAsyncManager,
    ThirtyDayManager,
    BoundedItemManager,
)


class ForeignType(enum.Enum):
    """Another framework's memory-type enum: same values, different class."""

    WORKING_MEMORY = "WORKING_MEMORY"
    SHORT_TERM_MEMORY = "SHORT_TERM_MEMORY"
    LONG_TERM_MEMORY = "LONG_TERM_MEMORY"


@dataclass
class Item:
    working_memory: Any


@dataclass
class Input:
    conversation_id: Any
    memory_type: Any = None
    data: Any = None
    metadata: Any = None
    query: Any = None
    memory_id: Any = None
    limit: Any = None
    filters: Any = None


def ask(conversation_id: Any = "c1", *texts: Any, **fields: Any) -> Input:
    data = [Item(text) for text in texts] if texts else fields.pop("data", None)
    return Input(conversation_id, data=data, **fields)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def call(manager: Any, operation: str, request: Any) -> Any:
    """Run one operation, awaiting it when the manager is asynchronous."""
    result = getattr(manager, operation)(request)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result


def texts(manager: Any, request: Any) -> list[str]:
    items = call(manager, "retrieve", request)
    assert isinstance(items, list)
    return [item.working_memory for item in items]


@pytest.fixture
def build(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``build(cls, ttl=..., clock=...)``: a manager, closed after the test."""
    made: list[Any] = []

    def make(cls: type, ttl: Any = 43200, clock: Any = None) -> Any:
        if cls is MemcachedManager:
            server: MemcachedServer = request.getfixturevalue("memcached_server")
            manager = cls(ttl, server=server.address)
        elif cls is CopyOnWriteManager:
            manager = cls(ttl)
        else:
            manager = cls(ttl, clock) if clock is not None else cls(ttl)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        if hasattr(manager, "close"):
            manager.close()


all_managers = pytest.mark.parametrize("cls", PLAIN, ids=lambda cls: cls.__name__)
clocked_managers = pytest.mark.parametrize("cls", CLOCKED, ids=lambda cls: cls.__name__)


@all_managers
def test_round_trip(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    odd = ["", " \t\n", "nul\x00byte", "emoji 😀 and 𝄞", "é" * 3, "\ud800 lone"]
    key = call(manager, "store", ask("c1", *odd, metadata={"a": [1, {"b": None}]}))
    assert isinstance(key, str) and key
    assert texts(manager, ask("c1")) == odd
    assert call(manager, "store", ask("c1", "again")) == key
    assert call(manager, "store", ask("c2", "x")) != key
    assert texts(manager, ask("c1")) == ["again"]
    assert texts(manager, ask("missing")) == []


@all_managers
def test_mapping_input_and_foreign_enum(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    call(manager, "store", {"conversation_id": "m", "data": [{"working_memory": "w"}]})
    call(
        manager,
        "store",
        {"conversation_id": "m", "memory_type": ForeignType.LONG_TERM_MEMORY, "data": [Item("l")]},
    )
    assert texts(manager, ask("m", memory_type="WORKING_MEMORY")) == ["w"]
    assert texts(manager, {"conversation_id": "m", "memory_type": "LONG_TERM_MEMORY"}) == ["l"]
    assert texts(manager, ask("m", memory_type=ForeignType.SHORT_TERM_MEMORY)) == []


@all_managers
def test_update_and_delete(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    assert call(manager, "update", ask("ghost", "boo")) is None
    assert texts(manager, ask("ghost")) == []
    call(manager, "store", ask("c", "one", metadata={"k": 1}))
    call(manager, "store", ask("c", "long", memory_type="LONG_TERM_MEMORY"))
    call(manager, "update", ask("c", "two", "three"))
    assert texts(manager, ask("c")) == ["two", "three"]
    call(manager, "delete", ask("c"))
    assert texts(manager, ask("c")) == []
    assert texts(manager, ask("c", memory_type="LONG_TERM_MEMORY")) == ["long"]
    call(manager, "update", ask("c", "back?"))
    assert texts(manager, ask("c")) == []
    call(manager, "delete", ask("never-there"))


@all_managers
def test_refusals_change_nothing(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    call(manager, "store", ask("c", "kept"))
    bad = [
        ask("c", data=[]),
        ask("c"),
        ask("", "x"),
        ask(7, "x"),
        ask("c", "x", memory_type="NOT_A_TYPE"),
        ask("c", 42),
        ask("c", data="not a list"),
        ask("c", data=[object()]),
    ]
    for request in bad:
        for operation in ("store", "update"):
            with pytest.raises((ValueError, TypeError)):
                call(manager, operation, request)
    assert texts(manager, ask("c")) == ["kept"]


@all_managers
def test_copies_in_and_out(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    data = [Item("a"), {"working_memory": "b"}]
    metadata: dict[str, Any] = {"nested": {"list": [1, 2]}}
    request = ask("c", data=data, metadata=metadata)
    call(manager, "store", request)
    data[0].working_memory = "changed"
    data.append(Item("extra"))
    metadata["nested"]["list"].append(3)
    items = call(manager, "retrieve", ask("c"))
    items[0].working_memory = "mutated"
    items.clear()
    assert texts(manager, ask("c")) == ["a", "b"]


@all_managers
def test_any_json_metadata(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    deep: Any = "leaf"
    for _ in range(40):
        deep = {"": [deep]}
    metadata = {"deep": deep, "big": 10**5000, "neg": -(2**200), "float": 1.5, "": None}
    call(manager, "store", ask("c", "x", metadata=metadata))
    call(manager, "update", ask("c", "y", metadata=metadata))
    assert texts(manager, ask("c")) == ["y"]


@all_managers
def test_long_conversation_ids_are_distinct(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    base = "é" * 255  # 510 bytes of UTF-8
    call(manager, "store", ask(base + "a", "first"))
    call(manager, "store", ask(base + "b", "second"))
    assert texts(manager, ask(base + "a")) == ["first"]
    assert texts(manager, ask(base + "b")) == ["second"]


@all_managers
def test_ttl_validation(build: Callable[..., Any], cls: type) -> None:
    for ttl in (0, -1, -0.5, float("nan")):
        with pytest.raises(ValueError, match=r"(?i)ttl"):
            build(cls, ttl)
    for ttl in (True, "10", [1]):
        with pytest.raises((TypeError, ValueError)):
            build(cls, ttl)
    for ttl in (0.001, 1, 2_592_000, None):
        build(cls, ttl)


@all_managers
def test_large_write_accepted(build: Callable[..., Any], cls: type) -> None:
    manager = build(cls)
    thousand = [("x" * 262) for _ in range(1000)]  # 262,000 bytes in 1,000 items
    call(manager, "store", ask("c", *thousand))
    assert texts(manager, ask("c")) == thousand
    one = "\x00" * 262_144  # the worst case for JSON escaping
    call(manager, "store", ask("c", one))
    assert texts(manager, ask("c")) == [one]


@clocked_managers
def test_expiry_with_injected_clock(build: Callable[..., Any], cls: type) -> None:
    clock = FakeClock(1000.0)
    manager = build(cls, 10, clock)
    call(manager, "store", ask("c", "v"))
    clock.now = 1009.999
    assert texts(manager, ask("c")) == ["v"]  # does not extend the lifetime
    clock.now = 1010.0
    assert texts(manager, ask("c")) == []
    call(manager, "update", ask("c", "resurrected?"))
    assert texts(manager, ask("c")) == []
    clock.now = 2000.0
    call(manager, "store", ask("c", "v2"))
    clock.now = 2005.0
    call(manager, "update", ask("c", "v3"))  # restarts the lifetime
    clock.now = 2014.999
    assert texts(manager, ask("c")) == ["v3"]
    clock.now = 2015.0
    assert texts(manager, ask("c")) == []


@clocked_managers
def test_no_expiry_and_huge_ttls(build: Callable[..., Any], cls: type) -> None:
    clock = FakeClock(1000.0)
    ttls: list[Any] = [None]
    if cls is not ThirtyDayManager:
        ttls += [float("inf"), 1e300, 10**400]
    for ttl in ttls:
        manager = build(cls, ttl, clock)
        call(manager, "store", ask("c", "v"))
        clock.now += 1e9
        assert texts(manager, ask("c")) == ["v"]


@clocked_managers
def test_clean_up_many_slots(build: Callable[..., Any], cls: type) -> None:
    clock = FakeClock(0.0)
    manager = build(cls, 1, clock)
    for index in range(2000):
        clock.now = index * 0.01
        call(manager, "store", ask(f"c{index}", "v"))
    clock.now = 100.0
    call(manager, "store", ask("last", "v"))
    assert texts(manager, ask("c1999")) == []
    assert texts(manager, ask("last")) == ["v"]


def test_copy_on_write_real_time_expiry() -> None:
    manager = CopyOnWriteManager(0.05)
    manager.store(ask("c", "v"))
    assert texts(manager, ask("c")) == ["v"]
    time.sleep(0.06)
    assert texts(manager, ask("c")) == []
    manager.update(ask("c", "again"))
    assert texts(manager, ask("c")) == []


def test_async_manager_across_event_loops() -> None:
    manager = PlainAsyncManager()

    async def writes() -> None:
        await asyncio.gather(*(manager.store(ask(f"c{i}", str(i))) for i in range(50)))

    asyncio.run(writes())
    assert texts(manager, ask("c7")) == ["7"]
    loops = [threading.Thread(target=lambda: asyncio.run(writes())) for _ in range(4)]
    for thread in loops:
        thread.start()
    for thread in loops:
        thread.join()
    assert texts(manager, ask("c49")) == ["49"]


def test_thirty_day_bound() -> None:
    assert ThirtyDayManager(2_592_000).ttl == 2_592_000
    for ttl in (2_592_000.001, 2_592_001, float("inf"), 1e300, 10**400):
        with pytest.raises(ValueError, match="30 days"):
            ThirtyDayManager(ttl)


def test_item_size_bound() -> None:
    manager = BoundedItemManager()
    manager.store(ask("c", "a" * 262_144, "😀" * 65_536))  # both exactly 256 KiB of UTF-8
    assert [len(t) for t in texts(manager, ask("c"))] == [262_144, 65_536]
    for too_long in ("a" * 262_145, "😀" * 65_536 + "a", "é" * 131_073):
        for operation in ("store", "update"):
            with pytest.raises(ValueError, match="limit"):
                getattr(manager, operation)(ask("c", "fine", too_long))
    assert [len(t) for t in texts(manager, ask("c"))] == [262_144, 65_536]
    with pytest.raises(ValueError, match="limit"):
        manager.store(ask("new", "x" * 300_000))
    assert texts(manager, ask("new")) == []


def test_sqlite_reopen(tmp_path: Any) -> None:
    clock = FakeClock()
    first = PlainSqliteManager(10, clock, path=tmp_path / "memory.db")
    second = PlainSqliteManager.memspec_reopen(first)
    try:
        first.store(ask("c", "shared"))
        assert texts(second, ask("c")) == ["shared"]
        second.update(ask("c", "changed"))
        assert texts(first, ask("c")) == ["changed"]
        clock.now += 10
        assert texts(second, ask("c")) == []
    finally:
        first.close()
        second.close()
    temporary = PlainSqliteManager()
    twin = PlainSqliteManager.memspec_reopen(temporary)
    temporary.store(ask("c", "v"))
    assert texts(twin, ask("c")) == ["v"]
    temporary.close()
    twin.close()


# --------------------------------------------------------------------------- memcached


def test_memcached_ttl_bound(memcached_server: MemcachedServer) -> None:
    for ttl in (2_592_000.5, 2_592_001, float("inf"), 1e300, 10**400):
        with pytest.raises(ValueError, match="30-day"):
            MemcachedManager(ttl, server=memcached_server.address)
    MemcachedManager(2_592_000, server=memcached_server.address).close()


def test_memcached_round_trip_and_reopen(
    memcached_server: MemcachedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMSPEC_MEMCACHED", memcached_server.address)
    manager = MemcachedManager()
    twin = MemcachedManager.memspec_reopen(manager)
    stranger = MemcachedManager()  # another namespace
    try:
        manager.store(ask("c", "a", "\ud83d\ude00 pair of lone surrogates", "😀"))
        expected = ["a", "\ud83d\ude00 pair of lone surrogates", "😀"]
        assert texts(twin, ask("c")) == expected
        assert texts(stranger, ask("c")) == []
        twin.update(ask("c", "b"))
        assert texts(manager, ask("c")) == ["b"]
        twin.delete(ask("c"))
        assert texts(manager, ask("c")) == []
    finally:
        for each in (manager, twin, stranger):
            each.close()


def test_memcached_refuses_oversized_values(memcached_server: MemcachedServer) -> None:
    manager = MemcachedManager(server=memcached_server.address)
    try:
        manager.store(ask("c", "kept"))
        for operation in ("store", "update"):
            with pytest.raises(ValueError, match="at most"):
                getattr(manager, operation)(ask("c", *(["x" * 250_000] * 5)))
        assert texts(manager, ask("c")) == ["kept"]
    finally:
        manager.close()


def test_memcached_sub_second_expiry(memcached_server: MemcachedServer) -> None:
    manager = MemcachedManager(0.2, server=memcached_server.address)
    try:
        manager.store(ask("c", "v"))
        assert texts(manager, ask("c")) == ["v"]
        time.sleep(0.25)
        assert texts(manager, ask("c")) == []
        manager.update(ask("c", "back?"))
        assert texts(manager, ask("c")) == []
    finally:
        manager.close()


def test_memcached_update_never_resurrects(memcached_server: MemcachedServer) -> None:
    first = MemcachedManager(server=memcached_server.address)
    second = MemcachedManager.memspec_reopen(first)
    try:
        for round_ in range(20):
            first.store(ask("race", "start"))
            stop = threading.Event()

            def updates(manager: MemcachedManager, stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    manager.update(ask("race", "updated"))

            workers = [threading.Thread(target=updates, args=(m,)) for m in (first, second)]
            for worker in workers:
                worker.start()
            time.sleep(0.005)
            second.delete(ask("race"))
            time.sleep(0.005)
            stop.set()
            for worker in workers:
                worker.join()
            assert texts(first, ask("race")) == [], round_
    finally:
        first.close()
        second.close()
