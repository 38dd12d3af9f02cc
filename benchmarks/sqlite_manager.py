"""SQLiteMemoryManager per-operation cost at 1 k and 100 k slots, beside InMemoryManager.

Prints, in one run, the median cost of store, retrieve, update and delete for both managers
at each size (inputs built before timing, the same random slots for both), and the ratio.
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
from memspec.reference import InMemoryManager, SQLiteMemoryManager

OPERATIONS = ("store", "retrieve", "update", "delete")


def _input(i: int, tag: str) -> IMemoryInput:
    return IMemoryInput(
        conversation_id=f"conversation-{i}",
        data=[IWorkingMemory(working_memory=f"{tag} memory of conversation {i}")],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=300)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
