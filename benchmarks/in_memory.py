"""InMemoryManager per-operation cost at 1 k, 100 k and 1 M live slots, against two baselines.

Prints, in one run, the median cost of store, retrieve, update and delete at each size, the
memory held per slot, and ratios against (a) a bare dict doing the same work plus building
the returned models, and (b) ``cachetools.TTLCache`` doing the same work. Run it with
``make bench`` or ``python benchmarks/in_memory.py [--sizes 1000 100000 1000000]``.

Targets: cost at 1 M at most 1.3x cost at 1 k; at most 2x the bare dict; no slower than
TTLCache. Inputs are built before timing, and every contender does the same operations on
the same random keys.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from cachetools import TTLCache

from memspec import ConversationMemoryType, IMemoryInput, IWorkingMemory
from memspec.reference import InMemoryManager

OPERATIONS = ("store", "retrieve", "update", "delete")
WM = ConversationMemoryType.WORKING_MEMORY
TTL = 43200


def _key(request: IMemoryInput) -> str:
    return f"memory:{request.memory_type._value_}:{request.conversation_id}"


class BareDict:
    """The floor: a dict of item tuples, models built on the way out, no TTL, no lock."""

    def __init__(self) -> None:
        self.slots: dict[str, tuple[str, ...]] = {}

    def store(self, request: IMemoryInput) -> str:
        key = _key(request)
        self.slots[key] = tuple([i.working_memory for i in request.data or ()])
        return key

    def retrieve(self, request: IMemoryInput) -> list[IWorkingMemory]:
        items = self.slots.get(_key(request), ())
        return [IWorkingMemory(working_memory=text) for text in items]

    def update(self, request: IMemoryInput) -> None:
        key = _key(request)
        if key in self.slots:
            self.slots[key] = tuple([i.working_memory for i in request.data or ()])

    def delete(self, request: IMemoryInput) -> None:
        self.slots.pop(_key(request), None)


class TTLCacheManager(BareDict):
    """The same work on ``cachetools.TTLCache``, the usual off-the-shelf TTL map."""

    def __init__(self) -> None:
        self.slots = TTLCache(maxsize=10**9, ttl=TTL)  # type: ignore[assignment]


def _input(i: int, tag: str) -> IMemoryInput:
    return IMemoryInput(
        conversation_id=f"conversation-{i}",
        memory_type=WM,
        data=[IWorkingMemory(working_memory=f"{tag} memory of conversation {i}")],
    )


def _inputs(count: int, tag: str) -> list[IMemoryInput]:
    return [_input(i, tag) for i in range(count)]


def _time_batch(call: Callable[[Any], Any], batch: Sequence[IMemoryInput]) -> float:
    start = time.perf_counter_ns()
    for request in batch:
        call(request)
    return (time.perf_counter_ns() - start) / len(batch)


def measure(factory: Callable[[], Any], size: int, rounds: int, batch: int, seed: int) -> dict[str, float]:
    """Median ns per operation for each operation, with ``size`` live slots throughout."""
    contender = factory()
    for i in range(size):
        contender.store(_input(i, "first"))
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {op: [] for op in OPERATIONS}
    gc.disable()
    try:
        for _ in range(rounds):
            # Fresh inputs for each batch, as a server builds them per request: the timing
            # then measures the slots' memory traffic, not that of a million cold inputs.
            picks = rng.sample(range(size), min(batch, size))
            writes = [_input(i, "rewrite") for i in picks]
            reads = [_input(i, "first") for i in picks]
            samples["store"].append(_time_batch(contender.store, writes))
            samples["retrieve"].append(_time_batch(contender.retrieve, reads))
            samples["update"].append(_time_batch(contender.update, reads))
            samples["delete"].append(_time_batch(contender.delete, reads))
            for request in reads:  # put them back, untimed, so the size stays the same
                contender.store(request)
    finally:
        gc.enable()
    return {op: statistics.median(values) for op, values in samples.items()}


def bytes_per_slot(factory: Callable[[], Any], count: int) -> float:
    """Memory the contender holds per slot, measured with tracemalloc (inputs excluded)."""
    requests = _inputs(count, "memory")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    contender = factory()
    for request in requests:
        contender.store(request)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del contender
    return (after - before) / count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=31, help="timed batches per operation")
    parser.add_argument("--batch", type=int, default=500, help="operations per timed batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    contenders: dict[str, Callable[[], Any]] = {
        "InMemoryManager": lambda: InMemoryManager(ttl=TTL),
        "bare dict": BareDict,
        "TTLCache": TTLCacheManager,
    }
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"median ns/op over {args.rounds} batches of {args.batch} random slots\n")
    results: dict[tuple[str, int], dict[str, float]] = {}
    for size in args.sizes:
        for name, factory in contenders.items():
            started = time.perf_counter()
            results[(name, size)] = measure(factory, size, args.rounds, args.batch, args.seed)
            print(f"  measured {name:<16} at {size:>9,} slots in {time.perf_counter() - started:5.1f} s",
                  flush=True)
            gc.collect()

    print(f"\n{'slots':>9}  {'op':<9}{'manager':>9}{'dict':>9}{'TTLCache':>10}"
          f"{'vs dict':>9}{'vs TTLCache':>13}{'vs 1k':>8}")
    small = args.sizes[0]
    for size in args.sizes:
        for op in OPERATIONS:
            ours = results[("InMemoryManager", size)][op]
            bare = results[("bare dict", size)][op]
            cache = results[("TTLCache", size)][op]
            scale = ours / results[("InMemoryManager", small)][op]
            print(f"{size:>9,}  {op:<9}{ours:>9.0f}{bare:>9.0f}{cache:>10.0f}"
                  f"{ours / bare:>8.2f}x{ours / cache:>12.2f}x{scale:>7.2f}x")

    count = min(100_000, max(args.sizes))
    print(f"\nmemory per slot ({count:,} slots, one 40-character item each):")
    for name, factory in contenders.items():
        print(f"  {name:<16} {bytes_per_slot(factory, count):7.0f} bytes")

    largest = max(args.sizes)
    worst_scale = max(
        results[("InMemoryManager", largest)][op] / results[("InMemoryManager", small)][op]
        for op in OPERATIONS
    )
    worst_dict = max(
        results[("InMemoryManager", s)][op] / results[("bare dict", s)][op]
        for s in args.sizes for op in OPERATIONS
    )
    worst_cache = max(
        results[("InMemoryManager", s)][op] / results[("TTLCache", s)][op]
        for s in args.sizes for op in OPERATIONS
    )
    print("\ntargets (worst case over operations):")
    print(f"  cost at {largest:,} vs {small:,}: {worst_scale:.2f}x (target <= 1.30x)")
    print(f"  vs bare dict:  {worst_dict:.2f}x (target <= 2.00x)")
    print(f"  vs TTLCache:   {worst_cache:.2f}x (target <= 1.00x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
