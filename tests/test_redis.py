"""The Redis managers against a real redis-server: certification, faults, secrets, wire format."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import redis
from conftest import RedisServer, _free_port, _launch
from memspec import IMemoryInput, IWorkingMemory, MemoryBackendError
from memspec.conformance import Target, certify
from memspec.conformance.checks import close_manager
from memspec.conformance.driver import Driver
from memspec.reference import AsyncRedisWorkingMemoryManager, RedisWorkingMemoryManager
from memspec.reference.redis import (
    isolated_async_redis_manager,
    isolated_redis_manager,
    redact,
)
from memspec.schemas import load_schema

pytestmark = pytest.mark.redis


def put(cid: str, *texts: str, **extra: Any) -> IMemoryInput:
    data = [IWorkingMemory(working_memory=t) for t in texts] or None
    return IMemoryInput(conversation_id=cid, data=data, **extra)


def texts(manager: RedisWorkingMemoryManager, cid: str) -> list[str]:
    return [item.working_memory for item in manager.retrieve(put(cid))]


class CountingRedis(redis.Redis):
    """A real client that also records the name of every command it sends."""

    sent: list[str]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]).upper())
        return super().execute_command(*args, **options)


@pytest.fixture
def manager(redis_server: RedisServer) -> Iterator[RedisWorkingMemoryManager]:
    with isolated_redis_manager(ttl=60, storage_url=redis_server.url) as made:
        yield made


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server for tests that stop and restart it."""
    port = _free_port()
    server = RedisServer(f"redis://127.0.0.1:{port}/0", port, _launch(port, tmp_path), tmp_path)
    yield server
    server.stop()


# -- certification ------------------------------------------------------------------------


@pytest.mark.requirement("MM-DUR-001")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_certified_on_every_profile(redis_server: RedisServer, is_async: bool) -> None:
    isolated = isolated_async_redis_manager if is_async else isolated_redis_manager

    def factory(ttl: float | None = 43200) -> Any:
        return isolated(ttl=ttl, storage_url=redis_server.url)

    factory.memspec_reopen = isolated.memspec_reopen  # type: ignore[attr-defined]
    factory.memspec_outage = isolated.memspec_outage  # type: ignore[attr-defined]
    report = certify(Target.from_factory(factory, name="redis"), depth="quick", seed=5)
    expected = ["core", "ttl", "async" if is_async else "concurrency", "persistence"]
    assert [p.value for p in report.profiles] == expected
    assert report.conformant, [(r.message, r.reproduction) for r in report.failures]


# -- the wire format and round trips --------------------------------------------------------


def test_values_are_stored_records_under_the_documented_key(
    manager: RedisWorkingMemoryManager, redis_server: RedisServer
) -> None:
    key = manager.store(put("conv:1 *x*", "a", "b", metadata={"source": "test"}))
    assert key == f"{manager.namespace}:wm:WORKING_MEMORY:conv:1 *x*"
    raw = redis.Redis.from_url(redis_server.url).get(key)
    assert raw is not None
    record = json.loads(raw)
    jsonschema.validate(record, load_schema("stored-record"))
    assert record["data"] == [{"working_memory": "a"}, {"working_memory": "b"}]
    assert record["metadata"] == {"source": "test"}


@pytest.mark.requirement("MM-META-002")
def test_update_keeps_metadata_unless_given_and_restarts_the_lifetime(
    manager: RedisWorkingMemoryManager, redis_server: RedisServer
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    key = manager.store(put("c", "x", metadata={"a": 1}))
    client.pexpire(key, 1000)
    manager.update(put("c", "y", "z"))
    record = json.loads(client.get(key) or b"{}")
    assert record["metadata"] == {"a": 1} and [d["working_memory"] for d in record["data"]] == [
        "y",
        "z",
    ]
    assert client.pttl(key) > 59_000
    manager.update(put("c", "w", metadata={"b": 2}))
    assert json.loads(client.get(key) or b"{}")["metadata"] == {"b": 2}
    manager.update(put("missing", "x"))
    assert client.exists(f"{manager.namespace}:wm:WORKING_MEMORY:missing") == 0


def test_one_round_trip_per_operation_and_never_keys(redis_server: RedisServer) -> None:
    client = CountingRedis.from_url(redis_server.url)
    client.sent = []
    manager = RedisWorkingMemoryManager(client=client, ttl=30, namespace="rt[1]*")
    manager.update(put("warm-up", "x"))  # loads the update script once
    for operation, request in [
        ("store", put("c", "x")),
        ("retrieve", put("c")),
        ("update", put("c", "y", metadata={"m": 1})),
        ("update", put("c", "z")),
        ("delete", put("c")),
    ]:
        client.sent.clear()
        getattr(manager, operation)(request)
        assert len(client.sent) == 1, (operation, client.sent)
    client.sent.clear()
    manager.store(put("d", "x"))
    assert list(manager.keys()) == ["rt[1]*:wm:WORKING_MEMORY:d"]
    assert "KEYS" not in client.sent and "SCAN" in client.sent


def test_a_large_namespace_is_cleared_a_batch_of_keys_to_a_del(redis_server: RedisServer) -> None:
    client = CountingRedis.from_url(redis_server.url)
    client.sent = []
    manager = RedisWorkingMemoryManager(client=client, ttl=60, namespace="big")
    other = RedisWorkingMemoryManager(redis_server.url, ttl=60, namespace="bigger")
    other.store(put("kept", "x"))
    pipe = client.pipeline(transaction=False)
    for n in range(1_201):
        pipe.set(f"big:wm:WORKING_MEMORY:c{n}", b"{}")
    pipe.execute()
    client.sent.clear()
    assert manager.clear_namespace() == 1_201
    assert list(manager.keys()) == []
    assert client.sent.count("DEL") == 3  # 500 + 500 + 201
    assert texts(other, "kept") == ["x"]
    other.clear_namespace()


def test_a_large_async_namespace_is_cleared_whole(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.mset({f"abig:wm:WORKING_MEMORY:c{n}": b"{}" for n in range(1_201)})

    async def scenario() -> int:
        manager = AsyncRedisWorkingMemoryManager(redis_server.url, ttl=60, namespace="abig")
        removed = await manager.clear_namespace()
        await manager.aclose()
        return removed

    assert asyncio.run(scenario()) == 1_201
    assert list(client.scan_iter(match="abig:*")) == []


def test_namespace_glob_characters_are_escaped(redis_server: RedisServer) -> None:
    with (
        RedisWorkingMemoryManager(redis_server.url, namespace="app[ab]*") as globby,
        RedisWorkingMemoryManager(redis_server.url, namespace="appa-other") as other,
    ):
        globby.store(put("c", "x"))
        other.store(put("c", "y"))
        assert list(globby.keys()) == ["app[ab]*:wm:WORKING_MEMORY:c"]
        assert globby.clear_namespace() == 1
        assert texts(other, "c") == ["y"]
        other.clear_namespace()


# -- failures -------------------------------------------------------------------------------


@pytest.mark.requirement("MM-DUR-002")
def test_a_value_that_is_not_a_record_is_an_error_naming_the_key(
    manager: RedisWorkingMemoryManager, redis_server: RedisServer
) -> None:
    key = manager.store(put("c", "x"))
    client = redis.Redis.from_url(redis_server.url)
    client.set(key, b"\xff not json")
    with pytest.raises(MemoryBackendError, match=f"key '{key}' is not a memspec record"):
        manager.retrieve(put("c"))
    assert client.get(key) == b"\xff not json"


@pytest.mark.requirement("MM-DUR-002")
def test_server_down_raises_then_recovers_without_a_rebuild(own_server: RedisServer) -> None:
    manager = RedisWorkingMemoryManager(own_server.url, ttl=60, socket_timeout=1.0)
    manager.store(put("c", "before"))
    own_server.stop()
    for operation, request in [
        ("store", put("c", "x")),
        ("retrieve", put("c")),
        ("update", put("c", "y")),
        ("delete", put("c")),
    ]:
        with pytest.raises(MemoryBackendError, match=f"{operation} on redis://127.0.0.1") as caught:
            getattr(manager, operation)(request)
        assert isinstance(caught.value.__cause__, redis.RedisError)
    own_server.start()
    assert texts(manager, "c") == []  # the server keeps nothing on disk: a real, empty answer
    manager.store(put("c", "after"))
    assert texts(manager, "c") == ["after"]
    manager.close()


@pytest.mark.requirement("MM-SEC-001", "MM-DUR-002")
def test_a_wrong_password_is_a_clear_error_without_the_password(
    redis_with_password: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    password, port = redis_with_password
    wrong = "Wr0ng-Secret-Value"
    url = f"redis://:{wrong}@127.0.0.1:{port}/0"
    with caplog.at_level(logging.DEBUG):
        manager = RedisWorkingMemoryManager(url, socket_timeout=1.0)
        with pytest.raises(MemoryBackendError) as caught:
            manager.store(put("c", "x"))
    seen = [str(caught.value), repr(caught.value), repr(manager), caplog.text]
    assert "Authentication" in str(caught.value) or "auth" in str(caught.value).lower()
    assert all(wrong not in text for text in seen)
    assert "***" in repr(manager)
    manager.close()
    with RedisWorkingMemoryManager(f"redis://:{password}@127.0.0.1:{port}/0") as right:
        right.store(put("c", "x"))
        assert texts(right, "c") == ["x"] and password not in repr(right)


def test_redact_hides_only_the_password() -> None:
    assert redact("redis://user:pw@host:6380/2") == "redis://user:***@host:6380/2"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"


# -- construction ---------------------------------------------------------------------------


def test_url_comes_from_the_argument_then_the_environment(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    with RedisWorkingMemoryManager(namespace="env") as manager:
        assert repr(manager) == (
            f"RedisWorkingMemoryManager(url={redis_server.url!r}, namespace='env', ttl=43200.0)"
        )
        manager.store(put("c", "x"))
        assert texts(manager, "c") == ["x"]
        manager.clear_namespace()
    monkeypatch.delenv("REDIS_URL")
    assert "localhost:6379" in repr(RedisWorkingMemoryManager(namespace="x"))


@pytest.mark.parametrize(
    ("options", "error"),
    [({"ttl": 0}, ValueError), ({"ttl": True}, TypeError), ({"namespace": ""}, ValueError)],
)
def test_bad_arguments_are_refused(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        RedisWorkingMemoryManager("redis://127.0.0.1:1/0", **options)


def test_async_manager_round_trip(redis_server: RedisServer) -> None:
    async def scenario() -> list[str]:
        manager = AsyncRedisWorkingMemoryManager(redis_server.url, namespace="async-rt", ttl=5)
        await manager.store(put("c", "a", "b"))
        await manager.update(put("c", "c"))
        found = [i.working_memory for i in await manager.retrieve(put("c"))]
        await manager.delete(put("c"))
        assert await manager.retrieve(put("c")) == []
        await manager.clear_namespace()
        await manager.aclose()
        return found

    assert asyncio.run(scenario()) == ["c"]


@pytest.mark.requirement("MM-DUR-002")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_every_operation_fails_during_an_outage_and_the_same_manager_recovers(
    redis_server: RedisServer, is_async: bool
) -> None:
    factory = isolated_async_redis_manager if is_async else isolated_redis_manager
    driver = Driver(factory(ttl=60, storage_url=redis_server.url))
    second = Driver(factory.memspec_reopen(driver.manager))  # type: ignore[attr-defined]
    try:
        driver.store(put("c", "before"))
        with factory.memspec_outage(driver.manager):  # type: ignore[attr-defined]
            for operation in ("store", "retrieve", "update", "delete"):
                request = put("c", "during") if operation in ("store", "update") else put("c")
                with pytest.raises(MemoryBackendError, match=f"^{operation} on redis://") as got:
                    driver.call(operation, request)
                assert isinstance(got.value.__cause__, redis.ConnectionError)
            assert [i.working_memory for i in second.retrieve(put("c"))] == ["before"]
        assert [i.working_memory for i in driver.retrieve(put("c"))] == ["before"]
        driver.update(put("c", "after"))
        assert [i.working_memory for i in second.retrieve(put("c"))] == ["after"]
        assert repr(driver.manager).startswith(("RedisWorking", "AsyncRedisWorking"))
    finally:
        for each in (second, driver):
            close_manager(each)
            each.close()
