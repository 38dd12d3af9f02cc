"""PostgreSQL managers against raw psycopg running the same statements, in one run.

Starts a private server (initdb in a temporary directory, a free loopback port, as the tests
do), then times, in interleaved rounds, N store+retrieve pairs through PostgresMemoryManager
and AsyncPostgresMemoryManager, and the same statements with the same parameters (the
manager's own SQL, including its every-16th-store purge, computed before timing) through raw
psycopg on one autocommit connection, sync and async, decoding the JSON it reads as the Redis
benchmark's raw side does. Target: each manager at least 0.9x its raw client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
from memspec import IMemoryInput, IWorkingMemory
from memspec.reference import AsyncPostgresMemoryManager, PostgresMemoryManager
from memspec.reference.postgres import PURGE_EVERY, _Plan

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from postgres_server import start_postgres

TTL = 3600.0


def _requests(count: int) -> list[IMemoryInput]:
    return [
        IMemoryInput(
            conversation_id=f"conversation-{i}",
            data=[IWorkingMemory(working_memory=f"the user's name is Alice, visit {i}")],
        )
        for i in range(count)
    ]


def _rounds(
    contenders: dict[str, Callable[[], None]], rounds: int, count: int
) -> dict[str, list[float]]:
    """Pairs per second of each contender in each round (interleaved), after a warm-up."""
    for run in contenders.values():
        run()
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for round_number in range(rounds):
        names = list(contenders)
        if round_number % 2:
            names.reverse()
        for name in names:
            started = time.perf_counter()
            contenders[name]()
            rates[name].append(count / (time.perf_counter() - started))
    return rates


def _ratio(rates: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """The median of the per-round ratios."""
    pairs = zip(rates[numerator], rates[denominator], strict=True)
    return statistics.median(a / b for a, b in pairs)


def postgres(pairs: int, rounds: int) -> None:
    """Manager and raw psycopg doing the same statements on the same private server."""
    server = start_postgres()
    try:
        requests = _requests(pairs)
        manager = PostgresMemoryManager(server.url, ttl=TTL, schema="bench_manager")
        raw_plan = _Plan(server.url, "bench_raw", TTL)
        PostgresMemoryManager(server.url, ttl=TTL, schema="bench_raw").__len__()  # tables
        # The raw side's statements and parameters, computed before timing: the same SQL text
        # (one store in PURGE_EVERY preceded by a purge) on a schema of its own.
        raw_stores = [raw_plan.store_statements(request) for request in requests]
        raw_keys = [raw_plan.slot(request) for request in requests]
        connection = psycopg.connect(server.url, autocommit=True)

        def raw_sync() -> None:
            for statements, key in zip(raw_stores, raw_keys, strict=True):
                for statement, params in statements:
                    connection.execute(statement, params)
                row = connection.execute(raw_plan.retrieve, key).fetchone()
                json.loads(row[0] if row else "null")

        def managed_sync() -> None:
            for request in requests:
                manager.store(request)
                manager.retrieve(request)

        loop = asyncio.new_event_loop()
        amanager = AsyncPostgresMemoryManager(server.url, ttl=TTL, schema="bench_async")
        aconnection = loop.run_until_complete(
            psycopg.AsyncConnection.connect(server.url, autocommit=True)
        )

        async def raw_async_pairs() -> None:
            for statements, key in zip(raw_stores, raw_keys, strict=True):
                for statement, params in statements:
                    await aconnection.execute(statement, params)
                cursor = await aconnection.execute(raw_plan.retrieve, key)
                row = await cursor.fetchone()
                json.loads(row[0] if row else "null")

        async def managed_async_pairs() -> None:
            for request in requests:
                await amanager.store(request)
                await amanager.retrieve(request)

        contenders: dict[str, Callable[[], None]] = {
            "raw psycopg": raw_sync,
            "PostgresMemoryManager": managed_sync,
            "raw psycopg async": lambda: loop.run_until_complete(raw_async_pairs()),
            "AsyncPostgresMemoryManager": lambda: loop.run_until_complete(managed_async_pairs()),
        }
        rates = _rounds(contenders, rounds, pairs)
        version = connection.execute("SHOW server_version").fetchone()
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, psycopg {psycopg.__version__} "
            f"({psycopg.pq.__impl__}), PostgreSQL {version[0] if version else '?'} "
            "(private, loopback, fsync=off)"
        )
        print(f"{rounds} interleaved rounds of {pairs} store+retrieve pairs\n")
        for name in contenders:
            print(f"  {name:<32}{statistics.median(rates[name]):>8,.0f} pairs/s")
        print("\nratios (median of per-round ratios; target >= 0.90x):")
        sync_ratio = _ratio(rates, "PostgresMemoryManager", "raw psycopg")
        async_ratio = _ratio(rates, "AsyncPostgresMemoryManager", "raw psycopg async")
        print(f"  sync manager / raw psycopg:         {sync_ratio:.2f}x")
        print(f"  async manager / raw psycopg async:  {async_ratio:.2f}x")
        print(f"  (every {PURGE_EVERY}th store of both first purges expired rows)")
        manager.close()
        loop.run_until_complete(amanager.aclose())
        loop.run_until_complete(aconnection.close())
        loop.close()
        connection.close()
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500, help="pairs per timed round")
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args(argv)
    postgres(args.pairs, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
