"""SQLiteMemoryManager per-operation cost at 1 k and 100 k slots, beside InMemoryManager, and
its write path against raw sqlite3.

Prints, in one run, the median cost of store, retrieve, update and delete for both managers
at each size (inputs built before timing, the same random slots for both), and the ratio.
Then ``SQLiteMemoryManager.store`` against raw sqlite3 running the same durable transaction
(WAL, synchronous=NORMAL, one INSERT OR REPLACE of the same record, built before timing, in
autocommit mode) on a file of its own in the same directory, in interleaved rounds. Target:
at most 1.3x.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memspec import IMemoryInput, IWorkingMemory
from memspec.models import dump_record
from memspec.reference import InMemoryManager, SQLiteMemoryManager

OPERATIONS = ("store", "retrieve", "update", "delete")


def _input(i: int, tag: str) -> IMemoryInput:
    return IMemoryInput(
        conversation_id=f"conversation-{i}",
        data=[IWorkingMemory(working_memory=f"{tag} memory of conversation {i}")],
    )


def write_path(stores: int, rounds: int, directory: Path) -> None:
    """SQLiteMemoryManager.store against raw sqlite3 doing the same durable transaction."""
    requests = [_input(i, "write path") for i in range(stores)]
    manager = SQLiteMemoryManager(directory / "manager.db", ttl=43200)
    raw = sqlite3.connect(directory / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute(
        "CREATE TABLE memspec_slot (conversation_id TEXT NOT NULL, memory_type TEXT NOT NULL, "
        "record TEXT NOT NULL, expires_at REAL, PRIMARY KEY (conversation_id, memory_type)) "
        "WITHOUT ROWID"
    )
    raw.execute(
        "CREATE INDEX memspec_slot_expiry ON memspec_slot (expires_at) WHERE expires_at IS NOT NULL"
    )
    rows = [
        (r.conversation_id, r.memory_type.value, dump_record(r, list(r.data or []), {}))
        for r in requests
    ]

    def raw_store() -> None:
        for row in rows:
            raw.execute(
                "INSERT OR REPLACE INTO memspec_slot VALUES (?, ?, ?, ?)",
                (*row, time.time() + 43200),
            )

    def managed_store() -> None:
        for request in requests:
            manager.store(request)

    costs: dict[str, list[float]] = {"raw sqlite3": [], "SQLiteMemoryManager.store": []}
    runs = {"raw sqlite3": raw_store, "SQLiteMemoryManager.store": managed_store}
    for run in runs.values():  # warm-up: every slot exists on both sides from here on
        run()
    for round_number in range(rounds):
        for name in list(runs)[:: -1 if round_number % 2 else 1]:
            started = time.perf_counter()
            runs[name]()
            costs[name].append((time.perf_counter() - started) / stores * 1e6)
    print(f"\nwrite path: {rounds} interleaved rounds of {stores} stores over {stores} slots\n")
    for name, values in costs.items():
        print(f"  {name:<28}{statistics.median(values):>8.1f} µs per store")
    ratio = statistics.median(
        a / b for a, b in zip(costs["SQLiteMemoryManager.store"], costs["raw sqlite3"], strict=True)
    )
    print(f"\nmanager / raw (median of per-round ratios; target <= 1.30x): {ratio:.2f}x")
    manager.close()
    raw.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--stores", type=int, default=500, help="write-path stores per round")
    parser.add_argument("--write-rounds", type=int, default=41, help="write-path rounds")
    args = parser.parse_args(argv)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL"
    )
    print(f"median microseconds per operation over {args.rounds} batches of {args.batch}\n")
    print(f"{'slots':>9}  {'op':<9}{'SQLite':>9}{'in-memory':>11}{'ratio':>9}")
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            managers: dict[str, Any] = {
                "sqlite": SQLiteMemoryManager(Path(directory) / f"bench-{size}.db", ttl=43200),
                "memory": InMemoryManager(ttl=43200),
            }
            for manager in managers.values():
                for i in range(size):
                    manager.store(_input(i, "first"))
            rng = random.Random(size)
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                picks = rng.sample(range(size), min(args.batch, size))
                batches = {
                    "store": [_input(i, "rewrite") for i in picks],
                    "retrieve": [_input(i, "first") for i in picks],
                    "update": [_input(i, "first") for i in picks],
                    "delete": [_input(i, "first") for i in picks],
                }
                for op in OPERATIONS:
                    for name, manager in managers.items():
                        call = getattr(manager, op)
                        started = time.perf_counter()
                        for request in batches[op]:
                            call(request)
                        elapsed = (time.perf_counter() - started) / len(batches[op])
                        samples.setdefault((name, op), []).append(elapsed * 1e6)
                for manager in managers.values():
                    for request in batches["retrieve"]:
                        manager.store(request)
            for op in OPERATIONS:
                sqlite_us = statistics.median(samples[("sqlite", op)])
                memory_us = statistics.median(samples[("memory", op)])
                print(
                    f"{size:>9,}  {op:<9}{sqlite_us:>9.1f}{memory_us:>11.2f}"
                    f"{sqlite_us / memory_us:>8.0f}x"
                )
            managers["sqlite"].close()
        write_path(args.stores, args.write_rounds, Path(directory))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
