"""Concurrent workloads: many threads (or tasks) on overlapping slots, recorded for checking.

:func:`hammer_threads` and :func:`hammer_tasks` run a random mix of the four operations
against a few shared slots and return the history and the final content of every slot, which
:func:`memspec.conformance.linearizability.explain` then checks against serial orders.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from memspec.conformance.driver import Driver
from memspec.conformance.linearizability import Event, State
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory

__all__ = ["Workload", "hammer_tasks", "hammer_threads"]

_SLOTS: tuple[tuple[str, ConversationMemoryType], ...] = (
    ("race-a", ConversationMemoryType.WORKING_MEMORY),
    ("race-a", ConversationMemoryType.SHORT_TERM_MEMORY),
    ("race-b", ConversationMemoryType.WORKING_MEMORY),
)
_OPERATIONS = ("store", "store", "store", "update", "update", "delete", "retrieve", "retrieve")


@dataclass
class Workload:
    """What ran and what was seen: the events, the final slots, and any errors raised."""

    events: list[Event] = field(default_factory=list)
    final: dict[Hashable, State] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    unfinished: int = 0


def _plan(worker: int, count: int, seed: int, prefix: str) -> list[tuple[str, Any, Any]]:
    """The operations one worker runs: (operation, slot, input)."""
    rng = random.Random(seed * 1_000_003 + worker)
    plan = []
    for n in range(count):
        conversation, memory_type = rng.choice(_SLOTS)
        slot = (prefix + conversation, memory_type)
        operation = rng.choice(_OPERATIONS)
        data = None
        if operation in ("store", "update"):
            # Two items per write, so that a torn write (one item of each of two writes) shows.
            data = [
                IWorkingMemory(working_memory=f"w{worker}-{n}-{part}") for part in ("head", "tail")
            ]
        request = IMemoryInput(conversation_id=slot[0], memory_type=memory_type, data=data)
        plan.append((operation, slot, request))
    return plan


def _event(worker: int, operation: str, slot: Any, request: Any, result: Any, start: int) -> Event:
    end = time.perf_counter_ns()
    written = tuple(i.working_memory for i in request.data or ())
    observed = None
    if operation == "retrieve":
        observed = tuple(getattr(i, "working_memory", repr(i)) for i in result)
    return Event(slot, operation, written, observed, start, end, worker)


def _final(read: Callable[[Any], Any], prefix: str) -> dict[Hashable, State]:
    final: dict[Hashable, State] = {}
    for conversation, memory_type in _SLOTS:
        request = IMemoryInput(conversation_id=prefix + conversation, memory_type=memory_type)
        items = tuple(i.working_memory for i in read(request))
        final[(prefix + conversation, memory_type)] = items or None
    return final


def hammer_threads(
    manager: Any,
    *,
    threads: int = 8,
    operations: int = 150,
    seed: int = 0,
    prefix: str = "",
    timeout: float = 30.0,
) -> Workload:
    """Run ``threads`` threads of ``operations`` random operations on a sync manager."""
    workload = Workload()
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(worker: int) -> None:
        plan = _plan(worker, operations, seed, prefix)
        barrier.wait()
        for operation, slot, request in plan:
            start = time.perf_counter_ns()
            try:
                result = getattr(manager, operation)(request)
            except Exception as exc:
                with lock:
                    workload.errors.append(f"thread {worker}: {operation} raised {exc!r}")
                return
            event = _event(worker, operation, slot, request, result, start)
            with lock:
                workload.events.append(event)

    pool = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in pool:
        thread.join(max(0.0, deadline - time.monotonic()))
    workload.unfinished = sum(thread.is_alive() for thread in pool)
    if not workload.unfinished and not workload.errors:
        workload.final = _final(manager.retrieve, prefix)
    return workload


def hammer_tasks(
    driver: Driver,
    *,
    tasks: int = 8,
    operations: int = 150,
    seed: int = 0,
    prefix: str = "",
) -> Workload:
    """Run ``tasks`` concurrent tasks of random operations on an async manager's event loop."""
    workload = Workload()
    manager = driver.manager

    async def work(worker: int) -> None:
        for operation, slot, request in _plan(worker, operations, seed, prefix):
            await asyncio.sleep(0)  # let the other tasks in between operations too
            start = time.perf_counter_ns()
            try:
                result = await getattr(manager, operation)(request)
            except Exception as exc:
                workload.errors.append(f"task {worker}: {operation} raised {exc!r}")
                return
            workload.events.append(_event(worker, operation, slot, request, result, start))

    async def everything() -> None:
        await asyncio.gather(*(work(i) for i in range(tasks)))

    driver.run(everything, label="concurrent tasks")
    if not workload.errors:
        workload.final = _final(lambda request: driver.call("retrieve", request), prefix)
    return workload
