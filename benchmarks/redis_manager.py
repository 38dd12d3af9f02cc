"""Redis managers against raw redis-py: store+retrieve pairs per second, in one run.

Starts a private redis-server on a free loopback port (or uses $REDIS_URL), then times, in
interleaved rounds, N store+retrieve pairs through RedisWorkingMemoryManager and
AsyncRedisWorkingMemoryManager and N SET+GET pairs of the same JSON through raw redis-py
(sync and asyncio), building each value when it writes it, configured as the managers
configure theirs: a blocking pool of 50
connections, the same timeouts and retry. Target: each manager at least 0.95x its raw client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from memspec import IMemoryInput, IWorkingMemory
from memspec.reference import AsyncRedisWorkingMemoryManager, RedisWorkingMemoryManager
from memspec.reference.redis import ConnectionSettings

TTL_MS = 60_000


def _server() -> tuple[str, subprocess.Popen[bytes] | None]:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    if shutil.which("redis-server") is None:
        raise SystemExit("no redis-server on PATH and no REDIS_URL")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    directory = tempfile.mkdtemp(prefix="memspec-bench-redis-")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return url, process
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _requests(count: int) -> list[IMemoryInput]:
    return [
        IMemoryInput(
            conversation_id=f"conversation-{i}",
            data=[IWorkingMemory(working_memory=f"the user's name is Alice, visit {i}")],
        )
        for i in range(count)
    ]


def _raw_value(request: IMemoryInput) -> str:
    data = request.data or []
    return json.dumps(
        {
            "format": 1,
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type.value,
            "data": [{"working_memory": item.working_memory} for item in data],
            "metadata": {},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5000, help="pairs per timed round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    url, process = _server()
    try:
        requests = _requests(args.pairs)
        # The raw contenders build each value when they write it, as an application using
        # redis-py directly would; the managers build theirs from the request the same way.
        raw_requests = [(f"raw:{r.conversation_id}", r) for r in requests]
        settings = ConnectionSettings()
        options = {
            **settings.client_options(),
            "max_connections": settings.max_connections,
            "timeout": settings.pool_timeout,
        }
        client = redis.Redis.from_pool(
            redis.BlockingConnectionPool.from_url(
                url,
                retry=redis.retry.Retry(settings.backoff(), settings.retries),
                **options,
            )
        )
        manager = RedisWorkingMemoryManager(url, ttl=TTL_MS / 1000, namespace="bench")

        def raw_sync() -> None:
            for key, request in raw_requests:
                client.set(key, _raw_value(request), px=TTL_MS)
                json.loads(client.get(key) or b"null")

        def managed_sync() -> None:
            for request in requests:
                manager.store(request)
                manager.retrieve(request)

        loop = asyncio.new_event_loop()
        aclient = redis.asyncio.Redis.from_pool(
            redis.asyncio.BlockingConnectionPool.from_url(
                url,
                retry=redis.asyncio.retry.Retry(settings.backoff(), settings.retries),
                **options,
            )
        )
        amanager = AsyncRedisWorkingMemoryManager(url, ttl=TTL_MS / 1000, namespace="bench-async")

        async def raw_async_pairs() -> None:
            for key, request in raw_requests:
                await aclient.set(key, _raw_value(request), px=TTL_MS)
                json.loads(await aclient.get(key) or b"null")

        async def managed_async_pairs() -> None:
            for request in requests:
                await amanager.store(request)
                await amanager.retrieve(request)

        contenders: dict[str, Callable[[], None]] = {
            "raw redis-py": raw_sync,
            "RedisWorkingMemoryManager": managed_sync,
            "raw redis.asyncio": lambda: loop.run_until_complete(raw_async_pairs()),
            "AsyncRedisWorkingMemoryManager": lambda: loop.run_until_complete(
                managed_async_pairs()
            ),
        }
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        for run in contenders.values():  # warm-up: connections, scripts, caches
            run()
        for round_number in range(args.rounds):
            names = list(contenders)
            order = names[round_number % 4 :] + names[: round_number % 4]
            for name in order:
                started = time.perf_counter()
                contenders[name]()
                rates[name].append(args.pairs / (time.perf_counter() - started))
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, redis-py {redis.__version__}, server {url}"
        )
        print(f"{args.rounds} interleaved rounds of {args.pairs} store+retrieve pairs\n")
        for name, values in rates.items():
            print(f"  {name:<32}{statistics.median(values):>10,.0f} pairs/s")

        def ratio(ours: str, raw: str) -> float:
            return statistics.median(a / b for a, b in zip(rates[ours], rates[raw], strict=True))

        print("\nratios (median of per-round ratios; target >= 0.95x):")
        sync_ratio = ratio("RedisWorkingMemoryManager", "raw redis-py")
        print(f"  sync manager / raw redis-py:       {sync_ratio:.2f}x")
        print(
            f"  async manager / raw redis.asyncio: "
            f"{ratio('AsyncRedisWorkingMemoryManager', 'raw redis.asyncio'):.2f}x"
        )
        manager.clear_namespace()
        loop.run_until_complete(amanager.clear_namespace())
        loop.run_until_complete(amanager.aclose())
        loop.run_until_complete(aclient.aclose())
        loop.close()
        return 0
    finally:
        if process is not None:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    raise SystemExit(main())
