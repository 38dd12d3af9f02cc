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

from memspec.catalogue import Profile
from memspec.conformance.checks import Check, Context, Skip
from memspec.conformance.driver import Driver
from memspec.conformance.linearizability import Event, State, explain
from memspec.conformance.results import CheckFailure, short
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory

__all__ = ["CHECKS", "Workload", "hammer_tasks", "hammer_threads"]

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
        if not isinstance(result, list):
            raise TypeError(f"retrieve returned {short(result)}, not a list")
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
    driver: Driver,
    *,
    threads: int = 8,
    operations: int = 150,
    seed: int = 0,
    prefix: str = "",
    timeout: float = 30.0,
) -> Workload:
    """Run ``threads`` threads of ``operations`` random operations on a sync manager.

    The threads call the driver's manager directly; the final reads go through the driver,
    so a manager that hangs fails the check instead of hanging it.
    """
    manager = driver.manager
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
                event = _event(worker, operation, slot, request, result, start)
            except Exception as exc:
                with lock:
                    workload.errors.append(f"thread {worker}: {operation} raised {exc!r}")
                return
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
        workload.final = _final(lambda request: driver.call("retrieve", request), prefix)
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
                event = _event(worker, operation, slot, request, result, start)
            except Exception as exc:
                workload.errors.append(f"task {worker}: {operation} raised {exc!r}")
                return
            workload.events.append(event)

    async def everything() -> None:
        await asyncio.gather(*(work(i) for i in range(tasks)))

    driver.run(everything, label="concurrent tasks")
    if not workload.errors:
        workload.final = _final(lambda request: driver.call("retrieve", request), prefix)
    return workload


# -- checks ---------------------------------------------------------------------------------


def _threads(context: Context) -> None:
    if context.is_async:
        raise Skip("the target is async: the async profile checks concurrent tasks instead")
    driver = context.manager(ttl=3600)
    budget = context.budget
    workload = hammer_threads(
        driver,
        threads=budget["threads"],
        operations=budget["operations"],
        seed=context.seed,
        timeout=context.timeout * 3,
    )
    _judge(workload, ("MM-CONC-001",), ("MM-CONC-002",))


def _update_delete_race(context: Context) -> None:
    if context.is_async:
        raise Skip("the target is async: the async profile checks concurrent tasks instead")
    driver = context.manager(ttl=3600)
    manager = driver.manager
    pairs = 25  # slots raced per round: one thread updates them while another deletes them
    for round_number in range(context.budget["rounds"]):
        if context.deadline is not None and time.monotonic() > context.deadline:
            raise CheckFailure(
                ("MM-CONC-001",), f"the check ran out of its time limit after {round_number} rounds"
            )
        slots = [f"race-{round_number}-{i}" for i in range(pairs)]
        driver.call_many(
            "store",
            [
                IMemoryInput(conversation_id=s, data=[IWorkingMemory(working_memory="v0")])
                for s in slots
            ],
        )
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(
            operation: str,
            barrier: threading.Barrier = barrier,
            slots: list[str] = slots,
            errors: list[BaseException] = errors,
        ) -> None:
            data = [IWorkingMemory(working_memory="v1")] if operation == "update" else None
            requests = [IMemoryInput(conversation_id=slot, data=data) for slot in slots]
            barrier.wait()
            try:
                for request in requests:
                    getattr(manager, operation)(request)
            except BaseException as exc:
                errors.append(exc)

        pool = [
            threading.Thread(target=run, args=(op,), daemon=True) for op in ("update", "delete")
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(context.timeout)
        if any(thread.is_alive() for thread in pool):
            raise CheckFailure(("MM-CONC-001",), f"round {round_number}: update or delete hung")
        if errors:
            raise CheckFailure(("MM-CONC-001",), f"round {round_number}: raised {errors[0]!r}")
        finals = driver.call_many("retrieve", [IMemoryInput(conversation_id=s) for s in slots])
        for slot, left in zip(slots, finals, strict=True):
            if left:
                texts = [getattr(i, "working_memory", i) for i in left]
                raise CheckFailure(
                    ("MM-CONC-003",),
                    f"round {round_number}: after an update raced a delete, slot {slot!r} "
                    f"holds {texts!r}; in every serial order of the two it is missing",
                )


def _tasks(context: Context) -> None:
    if not context.is_async:
        raise Skip("the target is not async")
    driver = context.manager(ttl=3600)
    budget = context.budget
    workload = hammer_tasks(
        driver, tasks=budget["threads"], operations=budget["operations"], seed=context.seed
    )
    _judge(workload, ("MM-ASYNC-002",), ("MM-ASYNC-002",))


def _judge(workload: Workload, crash_ids: tuple[str, ...], order_ids: tuple[str, ...]) -> None:
    if workload.unfinished:
        raise CheckFailure(crash_ids, f"{workload.unfinished} workers did not finish in time")
    if workload.errors:
        raise CheckFailure(crash_ids, f"concurrent calls raised: {workload.errors[0]}")
    problem = explain(workload.events, workload.final)
    if problem is not None:
        raise CheckFailure(order_ids, problem)


CHECKS: tuple[Check, ...] = (
    Check(
        "concurrency:threads",
        Profile.CONCURRENCY,
        ("MM-CONC-001", "MM-CONC-002"),
        _threads,
        "random operations from many threads agree with a serial order",
    ),
    Check(
        "concurrency:update-delete-race",
        Profile.CONCURRENCY,
        ("MM-CONC-003",),
        _update_delete_race,
        "an update racing a delete never brings the slot back",
    ),
    Check(
        "async:tasks",
        Profile.ASYNC,
        ("MM-ASYNC-002",),
        _tasks,
        "random operations from many tasks agree with a serial order",
    ),
)
