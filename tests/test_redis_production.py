"""The Redis managers under what production does to them, against real servers: many callers,
a restart, a paused server, and credentials in every form redis-py accepts."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio.retry
import redis.retry
from conftest import RedisServer, _free_port, _launch
from memspec import IMemoryInput, IWorkingMemory, MemoryBackendError
from memspec.reference import AsyncRedisWorkingMemoryManager, RedisWorkingMemoryManager
from memspec.reference.redaction import redact_url, scrub, url_secrets
from memspec.reference.redis import ConnectionSettings

pytestmark = pytest.mark.redis


def put(cid: str, *texts: str) -> IMemoryInput:
    data = [IWorkingMemory(working_memory=t) for t in texts] or None
    return IMemoryInput(conversation_id=cid, data=data)


def texts(items: list[Any]) -> list[str]:
    return [item.working_memory for item in items]


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server for tests that stop, pause and restart it."""
    port = _free_port()
    server = RedisServer(f"redis://127.0.0.1:{port}/0", port, _launch(port, tmp_path), tmp_path)
    yield server
    if server.process is not None and server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def pause(server: RedisServer) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)


def resume(server: RedisServer) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGCONT)


# -- many callers ---------------------------------------------------------------------------


@pytest.mark.requirement("MM-CONC-001")
def test_200_threads_share_one_manager_without_an_error(redis_server: RedisServer) -> None:
    manager = RedisWorkingMemoryManager(redis_server.url, namespace="threads-200", ttl=60)
    start = threading.Barrier(200)

    def caller(n: int) -> list[str]:
        start.wait(30)
        for round_ in range(10):
            manager.store(put(f"own-{n}", f"{n}:{round_}"))
            manager.update(put("shared", f"{n}:{round_}"))
            manager.retrieve(put("shared"))
        return texts(manager.retrieve(put(f"own-{n}")))

    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(caller, range(200), timeout=120))
    assert results == [[f"{n}:9"] for n in range(200)]  # 6,200 calls, none raised
    manager.clear_namespace()
    manager.close()


@pytest.mark.requirement("MM-ASYNC-002")
def test_500_tasks_share_one_async_manager_without_an_error(redis_server: RedisServer) -> None:
    async def scenario() -> list[Any]:
        manager = AsyncRedisWorkingMemoryManager(redis_server.url, namespace="tasks-500", ttl=60)

        async def caller(n: int) -> list[str]:
            for round_ in range(6):
                await manager.store(put(f"own-{n}", f"{n}:{round_}"))
                await manager.update(put("shared", f"{n}:{round_}"))
                await manager.retrieve(put("shared"))
            return texts(await manager.retrieve(put(f"own-{n}")))

        results = await asyncio.wait_for(
            asyncio.gather(*(caller(n) for n in range(500)), return_exceptions=True), 120
        )
        await manager.clear_namespace()
        await manager.aclose()
        return results

    assert asyncio.run(scenario()) == [[f"{n}:5"] for n in range(500)]  # 9,500 calls


def test_a_caller_that_waits_too_long_for_a_connection_gets_a_backend_error(
    own_server: RedisServer,
) -> None:
    manager = RedisWorkingMemoryManager(
        own_server.url, max_connections=1, pool_timeout=0.2, socket_timeout=2.0
    )
    manager.store(put("c", "kept"))
    pause(own_server)
    holder = threading.Thread(target=lambda: manager.retrieve(put("c")))
    holder.start()  # holds the only connection, waiting on the paused server
    time.sleep(0.2)
    started = time.monotonic()
    with pytest.raises(MemoryBackendError, match="No connection available") as caught:
        manager.retrieve(put("c"))
    waited = time.monotonic() - started
    resume(own_server)
    holder.join(10)
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
    assert 0.15 < waited < 1.5  # the pool's wait, not the socket timeout
    assert texts(manager.retrieve(put("c"))) == ["kept"]  # never a wrong answer
    manager.close()


def test_the_async_pool_wait_is_bounded_too(own_server: RedisServer) -> None:
    async def scenario() -> str:
        manager = AsyncRedisWorkingMemoryManager(
            own_server.url, max_connections=1, pool_timeout=0.2, socket_timeout=1.0
        )
        await manager.store(put("c", "kept"))
        pause(own_server)
        first = asyncio.ensure_future(manager.retrieve(put("c")))
        await asyncio.sleep(0.1)
        with pytest.raises(MemoryBackendError, match=r"stayed busy for pool_timeout=0\.2 s"):
            await manager.retrieve(put("c"))
        with pytest.raises(MemoryBackendError):
            await first
        resume(own_server)
        found = texts(await manager.retrieve(put("c")))
        await manager.aclose()
        return found[0]

    assert asyncio.run(scenario()) == "kept"


# -- retries, timeouts, restarts ------------------------------------------------------------


def test_each_client_gets_its_own_kind_of_retry(redis_server: RedisServer) -> None:
    sync = RedisWorkingMemoryManager(redis_server.url, retries=3)
    sync_retry = sync._client.connection_pool.connection_kwargs["retry"]
    assert type(sync_retry) is redis.retry.Retry and sync_retry.get_retries() == 3

    async def scenario() -> Any:
        manager = AsyncRedisWorkingMemoryManager(redis_server.url, retries=3)
        retry = manager._client.connection_pool.connection_kwargs["retry"]
        await manager.aclose()
        return retry

    async_retry = asyncio.run(scenario())
    assert type(async_retry) is redis.asyncio.retry.Retry and async_retry.get_retries() == 3
    # Connection errors are retried; timeouts never are (the server may have acted).
    for retry in (sync_retry, async_retry):
        assert retry._supported_errors == (redis.ConnectionError,)
    sync.close()


@pytest.mark.requirement("MM-DUR-002")
def test_the_same_sync_manager_recovers_after_a_restart(own_server: RedisServer) -> None:
    manager = RedisWorkingMemoryManager(own_server.url, ttl=60)
    with ThreadPoolExecutor(8) as pool:  # several pooled connections, all made stale below
        list(pool.map(lambda n: manager.store(put(f"c{n}", "before")), range(16)))
    own_server.stop()
    own_server.start()
    ok = 0
    for n in range(20):
        manager.store(put(f"c{n}", f"after-{n}"))
        ok += texts(manager.retrieve(put(f"c{n}"))) == [f"after-{n}"]
    assert ok == 20
    manager.close()


@pytest.mark.requirement("MM-DUR-002")
def test_the_same_async_manager_recovers_after_a_restart(own_server: RedisServer) -> None:
    async def scenario() -> int:
        manager = AsyncRedisWorkingMemoryManager(own_server.url, ttl=60)
        await asyncio.gather(*(manager.store(put(f"c{n}", "before")) for n in range(16)))
        own_server.stop()
        own_server.start()
        ok = 0
        for n in range(20):
            await manager.store(put(f"c{n}", f"after-{n}"))
            ok += texts(await manager.retrieve(put(f"c{n}"))) == [f"after-{n}"]
        await manager.aclose()
        return ok

    assert asyncio.run(scenario()) == 20


@pytest.mark.requirement("MM-ERR-002", "MM-DUR-002")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_timed_out_store_is_indeterminate_and_within_the_worst_case(
    own_server: RedisServer, is_async: bool
) -> None:
    """A paused server: the call raises after one socket timeout (a timeout is not retried),
    well within ``settings.worst_case_seconds``; the server, once resumed, applies the write
    the client gave up on: the outcome of a call that raised MemoryBackendError is unknown."""
    options: dict[str, Any] = {"ttl": 60, "socket_timeout": 0.3, "pool_timeout": 0.5}
    reader = RedisWorkingMemoryManager(own_server.url, **options)
    reader.store(put("c", "before"))

    async def store_async() -> None:
        manager = AsyncRedisWorkingMemoryManager(own_server.url, **options)
        await manager.retrieve(put("c"))  # a pooled connection, before the pause
        pause(own_server)
        try:
            await manager.store(put("c", "after"))
        finally:
            await manager.aclose()

    def store_sync() -> None:
        manager = RedisWorkingMemoryManager(own_server.url, **options)
        manager.retrieve(put("c"))
        pause(own_server)
        manager.store(put("c", "after"))

    started = time.monotonic()
    with pytest.raises(MemoryBackendError, match="Timeout") as caught:
        asyncio.run(store_async()) if is_async else store_sync()
    took = time.monotonic() - started
    resume(own_server)
    assert isinstance(caught.value.__cause__, redis.TimeoutError)
    settings = ConnectionSettings(socket_timeout=0.3, connect_timeout=0.3, pool_timeout=0.5)
    assert took < settings.worst_case_seconds
    deadline = time.monotonic() + 5
    while texts(reader.retrieve(put("c"))) != ["after"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert texts(reader.retrieve(put("c"))) == ["after"]  # it raised, yet it took effect
    reader.close()


def test_settings_are_checked_and_give_the_documented_worst_case() -> None:
    assert ConnectionSettings().worst_case_seconds == pytest.approx(10.4)
    assert ConnectionSettings(retries=0).worst_case_seconds == pytest.approx(10.0)
    assert ConnectionSettings(retries=2, backoff_cap=0.5).backoff_sleeps == 10
    for bad, error in [
        ({"socket_timeout": 0}, ValueError),
        ({"retries": -1}, ValueError),
        ({"max_connections": 0}, ValueError),
        ({"pool_timeout": float("nan")}, ValueError),
        ({"retries": 1.5}, TypeError),
    ]:
        with pytest.raises(error):
            RedisWorkingMemoryManager("redis://127.0.0.1:1/0", **bad)


# -- credentials in every form redis-py accepts --------------------------------------------

FORMS = [
    ("redis://user:Pa55-word@127.0.0.1:6379/0", "redis://user:***@127.0.0.1:6379/0"),
    ("redis://:Pa55-word@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("rediss://:Pa55-word@cache.example:6380", "rediss://:***@cache.example:6380"),
    ("redis://127.0.0.1:6379/0?password=Pa55-word", "redis://127.0.0.1:6379/0?password=***"),
    (
        "redis://user@127.0.0.1/0?db=1&password=Pa55%2Dword&x=1",
        "redis://***@127.0.0.1/0?db=1&password=***&x=1",
    ),
    ("unix://:Pa55-word@/run/redis.sock?db=0", "unix://:***@/run/redis.sock?db=0"),
    ("unix:///run/redis.sock?password=Pa55-word", "unix:///run/redis.sock?password=***"),
    ("redis://:Pa55-word@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
    ("redis://:Pa55-word@[fe80::1%25eth0]:7000", "redis://:***@[fe80::1%25eth0]:7000"),
    ("https://Pa55-word@api.example/v1", "https://***@api.example/v1"),
    ("https://api.example/v1?api-key=Pa55-word", "https://api.example/v1?api-key=***"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
]


@pytest.mark.requirement("MM-SEC-001")
@pytest.mark.parametrize(("url", "shown"), FORMS, ids=[f"form-{n}" for n in range(len(FORMS))])
def test_every_credential_form_is_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    for text in (
        repr(RedisWorkingMemoryManager(url, socket_timeout=0.1))
        if url.startswith(("redis", "unix"))
        else "",
        scrub(f"failed for {url}", url_secrets(url)),
        shown,
    ):
        assert "Pa55-word" not in text and "Pa55%2Dword" not in text


@pytest.mark.requirement("MM-SEC-001")
@pytest.mark.parametrize("form", ["userinfo", "query", "unix-userinfo", "unix-query"])
def test_a_wrong_password_in_any_form_never_shows(
    tmp_path: Path, form: str, caplog: pytest.LogCaptureFixture
) -> None:
    port, socket_path = _free_port(), tmp_path / "redis.sock"
    process = _launch(
        port, tmp_path, "--requirepass", "right-one", "--unixsocket", str(socket_path)
    )
    wrong = "Wr0ng-Pa55"
    url = {
        "userinfo": f"redis://:{wrong}@127.0.0.1:{port}/0",
        "query": f"redis://127.0.0.1:{port}/0?password={wrong}",
        "unix-userinfo": f"unix://:{wrong}@{socket_path}?db=0",
        "unix-query": f"unix://{socket_path}?password={wrong}",
    }[form]
    try:
        with caplog.at_level(logging.DEBUG):
            manager = RedisWorkingMemoryManager(url, socket_timeout=1.0)
            with pytest.raises(MemoryBackendError) as caught:
                manager.store(put("c", "x"))

            async def run_async() -> BaseException:
                amanager = AsyncRedisWorkingMemoryManager(url, socket_timeout=1.0)
                try:
                    await amanager.store(put("c", "x"))
                except MemoryBackendError as exc:
                    return exc
                finally:
                    await amanager.aclose()
                raise AssertionError("a wrong password was accepted")

            async_error = asyncio.run(run_async())
        shown = [str(caught.value), repr(caught.value), repr(manager), str(async_error)]
        assert "uthenticat" in str(caught.value) or "WRONGPASS" in str(caught.value)
        assert all(wrong not in text for text in [*shown, caplog.text]), shown
        assert "***" in repr(manager)
        manager.close()
    finally:
        process.terminate()
        process.wait(10)
