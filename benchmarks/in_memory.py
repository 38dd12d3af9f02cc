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
import os
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


Samples = dict[tuple[str, int, str], list[float]]


def measure(
    contenders: dict[str, Callable[[], Any]],
    sizes: Sequence[int],
    rounds: int,
    batch: int,
    seed: int,
) -> Samples:
    """ns per operation, one sample per round, for every (contender, size, operation).

    All contenders at all sizes are built first and then timed in interleaved rounds, in a
    rotating order, so that a change in machine speed during the run hits them all alike.
    """
    built: dict[tuple[str, int], Any] = {}
    for size in sizes:
        for name, factory in contenders.items():
            started = time.perf_counter()
            built[(name, size)] = contender = factory()
            for i in range(size):
                contender.store(_input(i, "first"))
            print(
                f"  filled {name:<16} with {size:>9,} slots in "
                f"{time.perf_counter() - started:5.1f} s",
                flush=True,
            )
    rng = random.Random(seed)
    samples: Samples = {(n, s, op): [] for n in contenders for s in sizes for op in OPERATIONS}
    names = list(contenders)
    gc.collect()
    gc.disable()
    try:
        for round_number in range(rounds):
            order = names[round_number % len(names) :] + names[: round_number % len(names)]
            for size in sizes:
                # Fresh inputs for each batch, as a server builds them per request: the timing
                # then measures the slots' memory traffic, not that of a million cold inputs.
                picks = rng.sample(range(size), min(batch, size))
                writes = [_input(i, "rewrite") for i in picks]
                reads = [_input(i, "first") for i in picks]
                for op, batch_inputs in zip(OPERATIONS, (writes, reads, reads, reads), strict=True):
                    for name in order:
                        call = getattr(built[(name, size)], op)
                        samples[(name, size, op)].append(_time_batch(call, batch_inputs))
                for name in order:  # put the deleted slots back, untimed
                    for request in reads:
                        built[(name, size)].store(request)
            if (round_number + 1) % 10 == 0:
                print(f"  timed round {round_number + 1}/{rounds}", flush=True)
    finally:
        gc.enable()
    return samples


def _ratio(samples: Samples, a: tuple[str, int, str], b: tuple[str, int, str]) -> float:
    """Median of the per-round ratios a/b: paired, so drift between rounds cancels out."""
    return statistics.median(x / y for x, y in zip(samples[a], samples[b], strict=True))


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
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"{args.rounds} interleaved rounds of {args.batch} random slots per operation\n")
    samples = measure(contenders, args.sizes, args.rounds, args.batch, args.seed)

    ours = "InMemoryManager"
    small, largest = args.sizes[0], max(args.sizes)
    print("\nmedian ns/op, and paired ratios (median over rounds of the per-round ratio)")
    print(
        f"{'slots':>9}  {'op':<9}{'manager':>9}{'dict':>7}{'TTLCache':>10}"
        f"{'vs dict':>9}{'vs TTLCache':>13}{'vs ' + format(small, ','):>10}"
    )
    for size in args.sizes:
        for op in OPERATIONS:
            cost = {n: statistics.median(samples[(n, size, op)]) for n in contenders}
            print(
                f"{size:>9,}  {op:<9}{cost[ours]:>9.0f}{cost['bare dict']:>7.0f}"
                f"{cost['TTLCache']:>10.0f}"
                f"{_ratio(samples, (ours, size, op), ('bare dict', size, op)):>8.2f}x"
                f"{_ratio(samples, (ours, size, op), ('TTLCache', size, op)):>12.2f}x"
                f"{_ratio(samples, (ours, size, op), (ours, small, op)):>9.2f}x"
            )

    count = min(100_000, max(args.sizes))
    print(f"\nmemory per slot ({count:,} slots, one 40-character item each):")
    for name, factory in contenders.items():
        print(f"  {name:<16} {bytes_per_slot(factory, count):7.0f} bytes")

    def worst(pairs: Sequence[tuple[tuple[str, int, str], tuple[str, int, str]]]) -> float:
        return max(_ratio(samples, a, b) for a, b in pairs)

    scale = worst([((ours, largest, op), (ours, small, op)) for op in OPERATIONS])
    floor = worst([(("bare dict", largest, op), ("bare dict", small, op)) for op in OPERATIONS])
    vs_dict = worst(
        [((ours, s, op), ("bare dict", s, op)) for s in args.sizes for op in OPERATIONS]
    )
    vs_cache = worst(
        [((ours, s, op), ("TTLCache", s, op)) for s in args.sizes for op in OPERATIONS]
    )
    print("\ntargets (worst case over operations and sizes):")
    print(
        f"  cost at {largest:,} vs {small:,} slots: {scale:.2f}x (target <= 1.30x; "
        f"a bare dict on this machine: {floor:.2f}x)"
    )
    print(f"  vs bare dict: {vs_dict:.2f}x (target <= 2.00x)")
    print(f"  vs TTLCache:  {vs_cache:.2f}x (target <= 1.00x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
