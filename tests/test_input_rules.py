"""One behaviour on every backend for the same input: the in-memory, SQLite and Redis managers
(sync and async) accept, refuse and round-trip exactly the same metadata, items, IDs and
lifetimes, because every one of them goes through the same helpers in ``memspec``."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from collections.abc import Callable, Iterator
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any

import pytest
import redis
from conftest import RedisServer
from memspec import MAX_TTL, IMemoryInput, IWorkingMemory, copy_metadata
from memspec.reference import (
    AsyncInMemoryManager,
    AsyncRedisWorkingMemoryManager,
    AsyncSQLiteMemoryManager,
    InMemoryManager,
    RedisWorkingMemoryManager,
    SQLiteMemoryManager,
)
from memspec.reference.sqlite import temporary_async_sqlite_manager, temporary_sqlite_manager
from pydantic import ValidationError

BACKENDS = ["in-memory", "sqlite", "redis", "async-in-memory", "async-sqlite", "async-redis"]


class Sync:
    """Drives any of the managers with plain calls, and reads a slot's stored metadata."""

    def __init__(self, manager: Any, stored: Callable[[str], Any]) -> None:
        self.manager = manager
        self.stored = stored
        self.loop = asyncio.new_event_loop()

    def __call__(self, operation: str, request: Any) -> Any:
        result = getattr(self.manager, operation)(request)
        return self.loop.run_until_complete(result) if asyncio.iscoroutine(result) else result

    def close(self) -> None:
        for name in ("close", "aclose"):
            method = getattr(self.manager, name, None)
            if method is not None:
                result = method()
                if asyncio.iscoroutine(result):
                    self.loop.run_until_complete(result)
        self.loop.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Sync]:
    name: str = request.param
    if name.endswith("in-memory"):
        manager: Any = AsyncInMemoryManager(ttl=60) if name.startswith("async") else None
        sync_manager = manager.sync if manager is not None else InMemoryManager(ttl=60)
        manager = manager or sync_manager

        def stored(key: str) -> Any:
            return sync_manager.storage[key].metadata

    elif name.endswith("sqlite"):
        manager = temporary_async_sqlite_manager(60) if "async" in name else None
        sqlite_manager = manager.sync if manager is not None else temporary_sqlite_manager(60)
        manager = manager or sqlite_manager

        def stored(key: str) -> Any:
            with sqlite3.connect(sqlite_manager.path) as db:
                memory_type, conversation_id = key.split("/", 2)[1:]
                (record,) = db.execute(
                    "SELECT record FROM memspec_slot WHERE conversation_id = ? AND memory_type = ?",
                    (conversation_id, memory_type),
                ).fetchone()
            return json.loads(record)["metadata"]

    else:
        cls = AsyncRedisWorkingMemoryManager if "async" in name else RedisWorkingMemoryManager
        manager = cls(redis_server.url, ttl=60, namespace=f"rules-{name}")
        client = redis.Redis.from_url(redis_server.url)

        def stored(key: str) -> Any:
            return json.loads(client.get(key) or b"null")["metadata"]

    driver = Sync(manager, stored)
    yield driver
    if "redis" in name:
        sync = RedisWorkingMemoryManager(redis_server.url, namespace=f"rules-{name}")
        sync.clear_namespace()
        sync.close()
    driver.close()


def write(cid: str, *texts: str, metadata: Any = None) -> IMemoryInput:
    """An input built without validation, as a caller's own model may be."""
    data = [IWorkingMemory.model_construct(working_memory=t) for t in texts] or None
    return IMemoryInput.model_construct(conversation_id=cid, data=data, metadata=metadata)


def read(backend: Sync, cid: str) -> list[str]:
    return [item.working_memory for item in backend("retrieve", write(cid))]


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    BIG = 3


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels - 1):
        value = {"down": value}
    return value


ACCEPTED = [
    {"s": "text", "i": 7, "f": -0.0, "b": True, "n": None, "l": [1, "a", None]},
    {"big": 10**40, "tiny": 5e-324, "max": 1.7976931348623157e308, "": "empty key"},
    {"tuple": (1, (2, 3)), "proxy": MappingProxyType({"a": [1]}), "enum": Colour.RED},
    {"intenum": Size.BIG, "unicode ☃ \U0001f600": "é\x00"},
    _deep(33),  # 32 mappings, the most allowed
]


@pytest.mark.requirement("MM-META-002", "MM-META-003")
@pytest.mark.parametrize("metadata", ACCEPTED, ids=[f"shape-{n}" for n in range(len(ACCEPTED))])
def test_json_metadata_round_trips_identically(backend: Sync, metadata: Any) -> None:
    key = backend("store", write("c", "x", metadata=metadata))
    assert backend.stored(key) == json.loads(json.dumps(copy_metadata(metadata)))
    assert type(backend.stored(key)) is dict
    assert read(backend, "c") == ["x"]


REFUSED: list[tuple[Any, type[Exception], str]] = [
    ({"s": {1, 2}}, TypeError, r"metadata\['s'\] is a set"),
    ({"n": math.nan}, ValueError, r"metadata\['n'\] is nan"),
    ({"deep": {"inf": [math.inf]}}, ValueError, r"metadata\['deep'\]\['inf'\]\[0\] is inf"),
    ({1: "x"}, TypeError, "key of type int"),
    ({"o": object()}, TypeError, r"metadata\['o'\] is a object"),
    ({"b": b"bytes"}, TypeError, r"metadata\['b'\] is a bytes"),
    ({"x": "lone \ud800"}, ValueError, r"metadata\['x'\] holds a lone surrogate"),
    ({"\udc00": 1}, ValueError, "a key of metadata holds a lone surrogate"),
    ({"i": 10**4300}, ValueError, "more than 4300 digits"),
    ({"d": _deep(33)}, ValueError, "nested deeper than 32"),
    ("not a mapping", TypeError, "metadata must be a mapping"),
]


@pytest.mark.requirement("MM-META-004", "MM-ERR-003")
@pytest.mark.parametrize(
    ("metadata", "error", "message"), REFUSED, ids=[f"bad-{n}" for n in range(len(REFUSED))]
)
@pytest.mark.parametrize("operation", ["store", "update"])
def test_non_json_metadata_is_refused_identically_naming_the_field(
    backend: Sync, metadata: Any, error: type[Exception], message: str, operation: str
) -> None:
    key = backend("store", write("c", "kept", metadata={"was": 1}))
    with pytest.raises(error, match=message):
        backend(operation, write("c", "changed", metadata=metadata))
    assert read(backend, "c") == ["kept"] and backend.stored(key) == {"was": 1}


@pytest.mark.requirement("MM-FID-003", "MM-ERR-003")
@pytest.mark.parametrize("operation", ["store", "update"])
def test_a_lone_surrogate_is_refused_identically_naming_the_field(
    backend: Sync, operation: str
) -> None:
    backend("store", write("c", "kept"))
    with pytest.raises(ValueError, match=r"data\[1\]\.working_memory holds a lone surrogate"):
        backend(operation, write("c", "fine", "bad \ud800"))
    with pytest.raises(ValueError, match="conversation_id holds a lone surrogate"):
        backend(operation, write("c\udfff", "fine"))
    with pytest.raises(TypeError, match=r"data\[0\]\.working_memory must be a str"):
        backend(operation, IMemoryInput.model_construct(conversation_id="c", data=[object()]))
    assert read(backend, "c") == ["kept"]


@pytest.mark.requirement("MM-INPUT-004")
def test_an_unvalidated_input_with_no_conversation_id_is_refused(backend: Sync) -> None:
    for operation in ("store", "update", "retrieve", "delete"):
        with pytest.raises(ValidationError, match="conversation_id"):
            backend(operation, write(None, "x"))  # type: ignore[arg-type]
    assert read(backend, "None") == []


@pytest.mark.requirement("MM-TTL-008", "MM-TTL-013")
@pytest.mark.parametrize(
    "ttl", [1e300, 10**400, math.nan, math.inf, -math.inf, MAX_TTL + 1, MAX_TTL + 0.5]
)
def test_a_ttl_past_the_reference_bound_is_refused_at_construction(
    ttl: Any, redis_server: RedisServer, tmp_path: Any
) -> None:
    constructors: list[Callable[[Any], Any]] = [
        lambda t: InMemoryManager(ttl=t),
        lambda t: AsyncInMemoryManager(ttl=t),
        lambda t: SQLiteMemoryManager(tmp_path / "m.db", ttl=t),
        lambda t: AsyncSQLiteMemoryManager(tmp_path / "m.db", ttl=t),
        lambda t: RedisWorkingMemoryManager(redis_server.url, ttl=t),
        lambda t: AsyncRedisWorkingMemoryManager(redis_server.url, ttl=t),
    ]
    for build in constructors:
        with pytest.raises(ValueError, match="ttl"):
            build(ttl)


@pytest.mark.requirement("MM-TTL-013")
def test_the_reference_bound_itself_is_honoured_everywhere(redis_server: RedisServer) -> None:
    sqlite_manager = temporary_sqlite_manager(MAX_TTL)
    redis_manager = RedisWorkingMemoryManager(redis_server.url, ttl=MAX_TTL, namespace="max-ttl")
    for manager in (InMemoryManager(ttl=MAX_TTL), sqlite_manager, redis_manager):
        key = manager.store(write("long", "kept"))
        assert [i.working_memory for i in manager.retrieve(write("long"))] == ["kept"]
    assert redis.Redis.from_url(redis_server.url).pttl(key) > (MAX_TTL - 60) * 1000
    redis_manager.clear_namespace()
    redis_manager.close()
    sqlite_manager.close()
