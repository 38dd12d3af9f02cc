"""Several managers over one backend: at once from threads, tasks and processes, and outages.

In production each worker holds its own manager over one store, so a lock inside one manager
object serialises nothing for the others. These checks open further managers with the
target's ``memspec_reopen`` and run the concurrent workload of the concurrency profile
through all of them at once, in one process and in several, and check the history against
serial orders (``MM-DUR-003``). With ``memspec_outage`` they also cut the backend and judge
what the manager does meanwhile and afterwards (``MM-DUR-002``, ``MM-DUR-004``,
``MM-ERR-002``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from memspec.catalogue import Profile
from memspec.conformance.calls import memory_input, write
from memspec.conformance.checks import Check, Context, Skip, Unjudged, fast_thread_switching
from memspec.conformance.concurrency import (
    Workload,
    final_slots,
    hammer_tasks,
    hammer_threads,
    judge_workload,
    plan_events,
    switching_clock,
    update_delete_rounds,
)
from memspec.conformance.driver import CallTimeout, Driver
from memspec.conformance.isolation import WorkerFailed, call_isolated
from memspec.conformance.linearizability import Event, State
from memspec.conformance.results import CheckFailure, short
from memspec.conformance.vectors import seen_texts
from memspec.errors import MemoryBackendError

__all__ = ["CHECKS"]

_PREFIX = "shared-"
#: Managers over the backend in the one-process workload, and processes in the other.
_MANAGERS = 3
_PROCESSES = 3
_SETTING = "through {count} managers over one backend"


def _merge(parts: Sequence[Workload]) -> Workload:
    merged = Workload()
    for part in parts:
        merged.events.extend(part.events)
        merged.errors.extend(part.errors)
        merged.unfinished += part.unfinished
    return merged


def _tasks_over(drivers: Sequence[Driver], tasks: int, operations: int, seed: int) -> Workload:
    """Each driver's event loop runs its own tasks, all loops at once, on overlapping slots."""
    parts: list[Workload] = [Workload() for _ in drivers]

    def run(index: int) -> None:
        try:
            parts[index] = hammer_tasks(
                drivers[index],
                tasks=tasks,
                operations=operations,
                seed=seed,
                prefix=_PREFIX,
                first_worker=index * tasks,
                final=False,
            )
        except CallTimeout:
            parts[index].unfinished += 1

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(drivers))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return _merge(parts)


def _shared_threads(context: Context) -> None:
    """Threads (or tasks) of one process, each using one of several managers over one backend."""
    budget = context.budget
    ids = ("MM-DUR-003",)
    for round_number in range(budget["workloads"]):
        first = context.manager(ttl=3600, clock=switching_clock(context))
        drivers = [first, *(context.reopen(first) for _ in range(_MANAGERS - 1))]
        seed = context.seed * 1000 + round_number
        if context.is_async:
            tasks = max(2, budget["threads"] // _MANAGERS)
            workload = _tasks_over(drivers, tasks, budget["operations"], seed)
        else:
            with fast_thread_switching():
                workload = hammer_threads(
                    first,
                    threads=budget["threads"],
                    operations=budget["operations"],
                    seed=seed,
                    prefix=_PREFIX,
                    timeout=context.timeout * 3,
                    others=drivers[1:],
                )
        if not workload.errors and not workload.unfinished and not workload.final:
            workload.final = final_slots(first.retrieve, _PREFIX)
        setting = _SETTING.format(count=_MANAGERS)
        if judge_workload(context, workload, ids, ids, setting=setting):
            return
    if not context.is_async:
        # The race a per-object lock hides best: an update through one manager while a
        # delete goes through another.
        first = context.manager(ttl=3600, clock=switching_clock(context))
        with fast_thread_switching():
            update_delete_rounds(
                context, first, context.reopen(first), ids, ids, setting="through two managers"
            )


def _in_process(
    reopen: Callable[[Any], Any],
    first: Any,
    worker: int,
    operations: int,
    seed: int,
    start_at: float,
) -> list[Event]:
    """A forked process's part: its own manager over the backend, running its plan at
    ``start_at`` (``time.monotonic`` is one clock for every process of the machine)."""

    async def in_loop() -> list[Event]:
        manager = reopen(first)
        time.sleep(max(0.0, start_at - time.monotonic()))
        try:
            return await plan_events(manager, worker, operations, seed, _PREFIX)
        finally:
            await _close(manager)

    return asyncio.run(in_loop())


async def _close(manager: Any) -> None:
    with contextlib.suppress(Exception):
        closer = getattr(manager, "aclose", None) or getattr(manager, "close", None)
        if closer is not None:
            result = closer()
            if asyncio.iscoroutine(result):
                await result


def _marker_reaches(context: Context, first: Driver) -> bool:
    """Whether a store made by a manager in another process reaches ``first``'s backend."""
    reopen = context.target.reopen
    assert reopen is not None  # the persistence profile requires it

    def mark() -> None:
        async def in_loop() -> None:
            manager = reopen(first.manager)
            try:
                result = manager.store(memory_input(_PREFIX + "marker", "from another process"))
                if asyncio.iscoroutine(result):
                    await result
            finally:
                await _close(manager)

        asyncio.run(in_loop())

    try:
        call_isolated(mark, timeout=context.timeout * 3)
    except WorkerFailed as exc:
        failure = CheckFailure(
            ("MM-DUR-003",),
            f"a manager opened in another process could not store: {short(str(exc), 300)}",
        )
        failure.failure = failure.failure.with_output(exc.output)
        raise failure from None
    seen = first.call("retrieve", memory_input(_PREFIX + "marker"))
    return seen_texts(seen) == ["from another process"]


def _shared_processes(context: Context) -> None:
    """Several processes, each with its own manager over the backend, on overlapping slots."""
    reopen = context.target.reopen
    if reopen is None:
        raise Skip("the target gives no memspec_reopen(manager)")
    first = context.manager(ttl=3600)
    if not _marker_reaches(context, first):
        raise Skip(
            "a store made in another process does not reach this backend (it lives in one "
            "process's memory), so several processes are not checked"
        )
    budget = context.budget
    operations = budget["operations"] * 2
    results: list[list[Event] | WorkerFailed] = [[] for _ in range(_PROCESSES)]
    start_at = time.monotonic() + 0.5
    manager = first.manager

    def run(worker: int) -> None:
        try:
            results[worker], _ = call_isolated(
                lambda: _in_process(reopen, manager, worker, operations, context.seed, start_at),
                timeout=context.timeout * 3 + 0.5,
            )
        except WorkerFailed as exc:
            results[worker] = exc

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(_PROCESSES)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    workload = Workload()
    for worker, result in enumerate(results):
        if isinstance(result, WorkerFailed):
            workload.errors.append(f"process {worker}: {short(str(result), 300)}")
        else:
            workload.events.extend(result)
    if not workload.errors:
        workload.final = final_slots(lambda r: first.call("retrieve", r), _PREFIX)
    ids = ("MM-DUR-003",)
    judge_workload(context, workload, ids, ids, setting=f"from {_PROCESSES} processes")


# -- outages -------------------------------------------------------------------------------

#: The slots written before the outage, and the calls made during it: (operation, slot, items).
_BEFORE: dict[str, tuple[str, ...]] = {
    "kept": ("k1", "k2"),
    "changed": ("c1",),
    "updated": ("u1",),
    "deleted": ("d1",),
}
_DURING: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("store", "changed", ("c2", "c3")),
    ("store", "new", ("n1", "n2")),
    ("update", "updated", ("u2", "u3")),
    ("delete", "deleted", ()),
    ("retrieve", "kept", ()),
)


def _after(operation: str, slot: str, items: tuple[str, ...]) -> State:
    if operation in ("store", "update"):
        return items
    if operation == "delete":
        return None
    return _BEFORE.get(slot)


def _outage(context: Context) -> None:
    """Calls made while the backend is unreachable raise ``MemoryBackendError``; afterwards
    the same manager works, and each of those calls was applied whole or not at all."""
    driver = context.manager(ttl=3600)
    cut = context.outage(driver)
    for slot, items in _BEFORE.items():
        write(driver, "store", _PREFIX + slot, *items)
    raised: dict[str, bool] = {}
    with context.probe("MM-DUR-002", what="during an outage"), contextlib.ExitStack() as stack:
        try:
            stack.enter_context(cut)
        except Exception as exc:
            raise Unjudged(
                f"memspec_outage(manager) raised {type(exc).__name__}: {short(str(exc), 200)}; "
                "fix the hook"
            ) from None
        for operation, slot, items in _DURING:
            raised[slot] = _during(driver, operation, slot, items)
    if not raised:
        return
    recovered = False
    with context.probe("MM-DUR-004", what="after the outage"):
        driver.call("store", memory_input(_PREFIX + "later", "after"))
        if _texts(driver, "later") != ("after",):
            raise CheckFailure(
                ("MM-DUR-004",),
                "after the backend came back, the same manager did not read back its own store",
            )
        recovered = True
    if not recovered:
        context.outcome.leave(
            ("MM-DUR-002", "MM-ERR-002"),
            "not judged after the outage: the manager did not work once the backend was back",
        )
        return
    with context.probe("MM-DUR-002", "MM-ERR-002", what="after the outage"):
        for operation, slot, items in _DURING:
            if operation == "retrieve" or slot not in raised:
                continue
            now = _texts(driver, slot) or None
            before, after = _BEFORE.get(slot), _after(operation, slot, items)
            if not raised[slot] and now != after:
                raise CheckFailure(
                    ("MM-DUR-002",),
                    f"a {operation} during the outage returned normally but did nothing: "
                    f"the slot holds {list(now or ())!r}, expected {list(after or ())!r}",
                )
            if raised[slot] and now not in (before, after):
                raise CheckFailure(
                    ("MM-ERR-002",),
                    f"a {operation} that raised MemoryBackendError during the outage was "
                    f"applied in part: the slot holds {list(now or ())!r}; expected "
                    f"{list(before or ())!r} (not applied) or {list(after or ())!r} (applied)",
                )


def _texts(driver: Driver, slot: str) -> tuple[str, ...]:
    items = driver.call("retrieve", memory_input(_PREFIX + slot))
    return tuple(seen_texts(items))


def _during(driver: Driver, operation: str, slot: str, items: tuple[str, ...]) -> bool:
    """Call ``operation`` on an unreachable backend; whether it raised MemoryBackendError."""
    ids = ("MM-DUR-002",)
    try:
        result = driver.call(operation, memory_input(_PREFIX + slot, *items))
    except MemoryBackendError as exc:
        if exc.__cause__ is None:
            raise CheckFailure(
                ids, f"{operation} raised MemoryBackendError without chaining the cause"
            ) from None
        return True
    except CallTimeout:
        raise CheckFailure(
            ids,
            f"{operation} did not return within the call time limit while the backend "
            "was unreachable; expected MemoryBackendError",
        ) from None
    except Exception as exc:
        raise CheckFailure(
            ids,
            f"{operation} raised {type(exc).__name__} while the backend was unreachable; "
            "expected MemoryBackendError",
        ) from None
    if operation == "retrieve":
        texts = seen_texts(result)
        if texts != list(_BEFORE[slot]):
            raise CheckFailure(
                ids,
                f"retrieve returned {texts!r} while the backend was unreachable; "
                f"expected {list(_BEFORE[slot])!r} or MemoryBackendError",
            )
    return False


CHECKS: tuple[Check, ...] = (
    Check(
        "persistence:shared-threads",
        Profile.PERSISTENCE,
        ("MM-DUR-003",),
        _shared_threads,
        "several managers over one backend, used at once, agree with a serial order",
    ),
    Check(
        "persistence:shared-processes",
        Profile.PERSISTENCE,
        ("MM-DUR-003",),
        _shared_processes,
        "managers in several processes over one backend agree with a serial order",
    ),
    Check(
        "persistence:outage",
        Profile.PERSISTENCE,
        ("MM-DUR-002", "MM-DUR-004", "MM-ERR-002"),
        _outage,
        "while the backend is cut calls raise MemoryBackendError; afterwards it works again",
    ),
)
