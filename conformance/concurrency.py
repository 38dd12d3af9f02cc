"""Concurrent workloads: many threads (or tasks) on overlapping slots, recorded for checking.

:func:`hammer_threads` and :func:`hammer_tasks` run a random mix of the four operations
against a few shared slots and return the history and the final content of every slot, which
:func:`memspec.conformance.linearizability.explain` then checks against serial orders.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from memspec.catalogue import Profile
from memspec.conformance import callboard
from memspec.conformance.callboard import TIMELY
from memspec.conformance.checks import Check, Context, Skip, fast_thread_switching
from memspec.conformance.driver import CallTimeout, Driver
from memspec.conformance.linearizability import Event, State, explain
from memspec.conformance.results import CheckFailure, Failure
from memspec.conformance.target import FakeClock
from memspec.conformance.vectors import item_texts, seen_texts
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory

__all__ = [
    "CHECKS",
    "Workload",
    "final_slots",
    "hammer_tasks",
    "hammer_threads",
    "judge_workload",
    "plan_events",
    "switching_clock",
    "update_delete_rounds",
]

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
            # Several items per write, so that a torn write (items of two writes, or a write
            # read half-done) shows; more items keep a one-by-one writer's window open longer.
            data = [
                IWorkingMemory(working_memory=f"w{worker}-{n}-{part}")
                for part in range(2 + rng.randrange(5))
            ]
        request = IMemoryInput(conversation_id=slot[0], memory_type=memory_type, data=data)
        plan.append((operation, slot, request))
    return plan


def _event(worker: int, operation: str, slot: Any, request: Any, result: Any, start: int) -> Event:
    end = time.perf_counter_ns()
    written = tuple(i.working_memory for i in request.data or ())
    observed = None
    if operation == "retrieve":
        # A malformed result is MM-RETR-001/002's business; here it is what was observed.
        items = result if isinstance(result, list) else ()
        observed = tuple(getattr(i, "working_memory", repr(i)) for i in items)
    return Event(slot, operation, written, observed, start, end, worker)


def _raised(
    worker: int, operation: str, slot: Any, request: Any, start: int, exc: BaseException
) -> Event:
    """A call that raised under concurrent use: failed by ``MM-CONC-001`` on its own, and in
    the history an indeterminate call (applied whole, or never), so that the order of the
    rest is still judged."""
    written = tuple(i.working_memory for i in request.data or ())
    end = time.perf_counter_ns()
    return Event(
        slot,
        operation,
        written,
        None,
        start,
        end,
        worker,
        indeterminate=True,
        raised=type(exc).__name__,
    )


async def plan_events(
    manager: Any, worker: int, operations: int, seed: int, prefix: str
) -> list[Event]:
    """Run one worker's plan on ``manager`` (sync or async), one call after another, and
    return what happened: the part of a workload that runs in a process of its own."""
    events = []
    for operation, slot, request in _plan(worker, operations, seed, prefix):
        start = time.perf_counter_ns()
        result = getattr(manager, operation)(request)
        if inspect.isawaitable(result):
            result = await result
        events.append(_event(worker, operation, slot, request, result, start))
    return events


def final_slots(read: Callable[[Any], Any], prefix: str) -> dict[Hashable, State]:
    """Each workload slot's content once the workers are done, read with ``read``."""
    final: dict[Hashable, State] = {}
    for conversation, memory_type in _SLOTS:
        request = IMemoryInput(conversation_id=prefix + conversation, memory_type=memory_type)
        items = tuple(getattr(i, "working_memory", repr(i)) for i in read(request) or ())
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
    others: Sequence[Driver] = (),
    yielding: bool = True,
) -> Workload:
    """Run ``threads`` threads of ``operations`` random operations on a sync manager.

    The threads call the driver's manager directly (thread ``i`` the ``i``-th of the driver's
    and ``others``' managers, in turn: several managers over one backend); the final reads go
    through the driver, so a manager that hangs fails the check instead of hanging it.
    ``yielding`` lets another thread run after every operation; without it, threads run
    free and the switch interval preempts them mid-operation.
    """
    managers = [d.manager for d in (driver, *others)]
    workload = Workload()
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(worker: int) -> None:
        manager = managers[worker % len(managers)]
        plan = _plan(worker, operations, seed, prefix)
        barrier.wait()
        for operation, slot, request in plan:
            start = time.perf_counter_ns()
            try:
                result = getattr(manager, operation)(request)
                event = _event(worker, operation, slot, request, result, start)
            except BaseException as exc:
                event = _raised(worker, operation, slot, request, start, exc)
                with lock:
                    workload.errors.append(f"thread {worker}: {operation} raised {exc!r}")
            with lock:
                workload.events.append(event)
            if yielding:
                _yield()

    pool = [
        threading.Thread(target=work, args=(i,), daemon=True, name=f"memspec-worker-{i}")
        for i in range(threads)
    ]
    with callboard.marked(timeout):
        for thread in pool:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in pool:
            thread.join(max(0.0, deadline - time.monotonic()))
    workload.unfinished = sum(thread.is_alive() for thread in pool)
    if not workload.unfinished:
        workload.final = _final_or_none(driver, prefix)
    return workload


def _final_or_none(driver: Driver, prefix: str) -> dict[Hashable, State]:
    """The final slots read alone, or nothing when a read raises (the order is unjudged)."""
    try:
        return final_slots(lambda request: driver.call("retrieve", request), prefix)
    except CallTimeout:
        raise
    except Exception:
        return {}


def hammer_tasks(
    driver: Driver,
    *,
    tasks: int = 8,
    operations: int = 150,
    seed: int = 0,
    prefix: str = "",
    first_worker: int = 0,
    final: bool = True,
) -> Workload:
    """Run ``tasks`` concurrent tasks of random operations on an async manager's event loop.

    Tasks are numbered from ``first_worker``; ``final=False`` leaves out the final reads
    (for a workload that is one part of a larger one)."""
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
                event = _raised(worker, operation, slot, request, start, exc)
                workload.errors.append(f"task {worker}: {operation} raised {exc!r}")
            workload.events.append(event)

    async def everything() -> None:
        await asyncio.gather(*(work(first_worker + i) for i in range(tasks)))

    driver.run(everything, label="concurrent tasks")
    if final and not workload.errors:
        workload.final = final_slots(lambda request: driver.call("retrieve", request), prefix)
    return workload


# -- checks ---------------------------------------------------------------------------------


def _threads(context: Context) -> None:
    if context.is_async:
        raise Skip("the target is async: the async profile checks concurrent tasks instead")
    budget = context.budget
    with fast_thread_switching():
        # Every third workload runs free (see _churn): half again as many workloads as yield.
        for round_number in range(budget["workloads"] * 3 // 2):
            yielding = round_number % 3 != 2
            clock = switching_clock(context)
            if clock is not None:
                clock.switching = yielding
            driver = context.manager(ttl=3600, clock=clock)
            workload = hammer_threads(
                driver,
                threads=budget["threads"],
                operations=budget["operations"],
                seed=context.seed * 1000 + round_number,
                timeout=context.timeout * 3,
                yielding=yielding,
            )
            ids = ("MM-CONC-001",), ("MM-CONC-002",), ("MM-CONC-003",)
            if judge_workload(context, workload, *ids):
                return


def _update_delete_race(context: Context) -> None:
    if context.is_async:
        raise Skip("the target is async: the async profile checks concurrent tasks instead")
    driver = context.manager(ttl=3600, clock=switching_clock(context))
    with fast_thread_switching():
        update_delete_rounds(context, driver, driver, ("MM-CONC-001",), ("MM-CONC-003",))


def update_delete_rounds(
    context: Context,
    updater: Driver,
    deleter: Driver,
    crash_ids: tuple[str, ...],
    resurrect_ids: tuple[str, ...],
    *,
    setting: str = "",
) -> None:
    """Rounds of one thread updating slots (through ``updater``'s manager) while another
    deletes them (through ``deleter``'s): a slot left holding the update's items was
    brought back, which no serial order of the two allows."""
    where = f" {setting}" if setting else ""
    pairs = 25  # slots raced per round: one thread updates them while another deletes them
    for round_number in range(context.budget["rounds"]):
        if context.deadline is not None and time.monotonic() > context.deadline:
            raise CheckFailure(
                crash_ids, f"the check ran out of its time limit after {round_number} rounds"
            )
        slots = [f"race-{round_number}-{i}" for i in range(pairs)]
        updater.call_many(
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
            manager = (updater if operation == "update" else deleter).manager
            barrier.wait()
            try:
                for request in requests:
                    getattr(manager, operation)(request)
                    _yield()
            except BaseException as exc:
                errors.append(exc)

        pool = [
            threading.Thread(target=run, args=(op,), daemon=True, name=f"memspec-{op}")
            for op in ("update", "delete")
        ]
        if _stuck(pool, context.timeout):
            raise CheckFailure((TIMELY,), f"an update racing a delete{where} did not return")
        if errors:
            raise CheckFailure(
                crash_ids,
                f"an update racing a delete{where} raised {type(errors[0]).__name__}; "
                "expected no exception",
                reproduction=f"# round {round_number}: {errors[0]!r}",
            )
        finals = updater.call_many("retrieve", [IMemoryInput(conversation_id=s) for s in slots])
        for slot, left in zip(slots, finals, strict=True):
            if left:
                texts = seen_texts(left)
                raise CheckFailure(
                    resurrect_ids,
                    f"after an update raced a delete of the same slot{where}, the slot holds "
                    "the update's items; in every serial order of the two it is missing",
                    reproduction=f"# round {round_number}: slot {slot!r} holds {texts!r}",
                )


def _stuck(pool: list[threading.Thread], timeout: float) -> bool:
    """Start every thread, give each ``timeout`` seconds to finish; whether any did not."""
    with callboard.marked(timeout * len(pool)):
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout)
    return any(thread.is_alive() for thread in pool)


def _yield() -> None:
    """Let another thread run. Threads blocked on a manager's lock do not ask for the GIL,
    so without this one thread runs many operations in a row and the others' never meet it;
    with it, operations of different threads interleave one by one."""
    time.sleep(0)


def switching_clock(context: Context) -> FakeClock | None:
    """For a target that takes a clock: one that lets other threads run at every reading.

    Managers read their clock next to the check-then-act steps where races hide (is the
    slot live? is it expired?); yielding the processor there makes a one-bytecode window
    wide enough to be hit in a short run."""
    if not context.target.accepts_clock:
        return None
    clock = context.clock()
    clock.switching = True
    return clock


def _expiry_race(context: Context) -> None:
    """A store racing the purge of the expired slot it replaces, with sweeps going on."""
    if context.is_async:
        raise Skip("the target is async: the async profile checks concurrent tasks instead")
    clock = context.clock()
    clock.switching = True
    slots = 40
    with fast_thread_switching():
        for round_number in range(max(4, context.budget["rounds"] // 10)):
            driver = context.manager(ttl=10, clock=clock)
            manager = driver.manager
            names = [f"expiring-{n}" for n in range(slots)]
            driver.call_many("store", [_single(name, "old") for name in names])
            clock.advance(10 + 2.0**-10)
            barrier = threading.Barrier(3)
            errors: list[str] = []

            def run(
                job: str,
                barrier: threading.Barrier = barrier,
                names: list[str] = names,
                errors: list[str] = errors,
                manager: Any = manager,
            ) -> None:
                barrier.wait()
                try:
                    for n, name in enumerate(names):
                        if job == "read":
                            manager.retrieve(_single(name))
                        elif job == "store":
                            manager.store(_single(name, "new"))
                        else:
                            manager.store(_single(f"other-{n}", "x"))
                        _yield()
                except BaseException as exc:
                    errors.append(f"{job} raised {exc!r}")

            pool = [
                threading.Thread(target=run, args=(job,), daemon=True, name=f"memspec-{job}")
                for job in ("read", "store", "sweep")
            ]
            if _stuck(pool, context.timeout):
                raise CheckFailure((TIMELY,), "operations racing an expiry did not return")
            if errors:
                raise CheckFailure(
                    ("MM-CONC-001",),
                    f"operations racing the clean-up of expired slots raised "
                    f"{_kind(errors[0])}; expected no exception",
                    reproduction=f"# round {round_number}: {errors[0]}",
                )
            finals = driver.call_many("retrieve", [_single(name) for name in names])
            for name, final in zip(names, finals, strict=True):
                texts = seen_texts(final)
                if texts != ["new"]:
                    raise CheckFailure(
                        ("MM-CONC-002",),
                        "a store of an expired slot, racing a retrieve that cleaned the expired "
                        "slot up, was lost; in every serial order the store's items are there",
                        reproduction=f"# round {round_number}: slot {name!r} holds {texts!r}",
                    )


#: Slots written before the churn threads start, per depth: sweeps have a large map to walk.
_CHURN = {"quick": 1000, "default": 5000, "thorough": 20000}
#: New slots each of the four churn threads writes, per depth, in a yielding round and in a
#: free-running one. Free-running rounds cost less per write and hit a window only where a
#: switch lands in it, so they write more; race detection is held to its rate at default
#: depth; quick depth, a first look, writes far fewer.
_CHURN_WRITES = {"quick": 250, "default": 2000, "thorough": 5000}
_CHURN_FREE_WRITES = {"quick": 1000, "default": 4000, "thorough": 10000}
_CHURN_ROUNDS = {"quick": 2, "default": 4, "thorough": 6}


def _churn(context: Context) -> None:
    """Threads inserting new slots while clean-up sweeps walk a large map of expired ones.

    Rounds alternate two schedules. Yielding between operations (and at clock readings)
    lets threads blocked on a lock meet the others; running free lets the 1 µs switch
    interval preempt a thread in the middle of an operation, which is where a lock-free
    writer's read-copy-publish window is (yields move every switch to a call boundary)."""
    if context.is_async:
        raise Skip("the target is async: the async profile checks concurrent tasks instead")
    for round_number in range(_CHURN_ROUNDS[context.depth]):
        _churn_round(context, yielding=round_number % 2 == 0)


def _churn_round(context: Context, *, yielding: bool) -> None:
    clock = switching_clock(context)
    if clock is not None:
        clock.switching = yielding
    driver = context.manager(ttl=3600 if clock is None else 10, clock=clock)
    manager = driver.manager
    old = [f"churn-old-{n}" for n in range(_CHURN[context.depth])]
    for start in range(0, len(old), 1000):
        driver.call_many("store", [_single(name, "old") for name in old[start : start + 1000]])
    if clock is not None:
        clock.advance(10 + 2.0**-10)  # every old slot is now expired, waiting for a sweep
    writes = _CHURN_WRITES if yielding else _CHURN_FREE_WRITES
    threads, per_thread = 4, writes[context.depth]
    barrier = threading.Barrier(threads, timeout=context.timeout)
    errors: list[str] = []

    # Built beforehand, so that the threads spend their time inside the manager.
    plans = [
        [
            (
                _single(f"churn-new-{worker}-{n}", f"{worker}/{n}"),
                _single(old[(worker * per_thread + n) % len(old)]),
            )
            for n in range(per_thread)
        ]
        for worker in range(threads)
    ]

    def run(worker: int) -> None:
        try:
            barrier.wait()
            for new, expired in plans[worker]:
                manager.store(new)
                if yielding:
                    _yield()
                manager.retrieve(expired)
                if yielding:
                    _yield()
        except BaseException as exc:
            errors.append(f"thread {worker}: raised {exc!r}")

    with fast_thread_switching():
        pool = [
            threading.Thread(target=run, args=(i,), daemon=True, name=f"memspec-churn-{i}")
            for i in range(threads)
        ]
        stuck = _stuck(pool, context.timeout * 3)
    if stuck:
        raise CheckFailure((TIMELY,), "threads writing new slots did not return")
    if errors:
        raise CheckFailure(
            ("MM-CONC-001",),
            f"threads writing new slots while expired ones were cleaned up raised "
            f"{_kind(errors[0])}; expected no exception",
            reproduction=f"# {errors[0]}",
        )
    new = [(f"churn-new-{w}-{n}", f"{w}/{n}") for w in range(threads) for n in range(per_thread)]
    finals = driver.call_many("retrieve", [_single(name) for name, _ in new])
    for (name, text), final in zip(new, finals, strict=True):
        texts = seen_texts(final)
        if texts != [text]:
            raise CheckFailure(
                ("MM-CONC-002",),
                "a store made while other threads stored other slots was lost or changed; "
                "in every serial order each slot holds its own store's items",
                reproduction=f"# slot {name!r} holds {texts!r}, expected {[text]!r}",
            )


#: Writes the torn-read check's first round makes, per depth, and the items in each.
_TORN_WRITES = {"quick": 150, "default": 400, "thorough": 1500}
_TORN_ITEMS = 48
#: Its queued rounds, per depth, and the writes each of their two writers makes.
_QUEUED_ROUNDS = {"quick": 2, "default": 6, "thorough": 12}
_QUEUED_WRITES = {"quick": 100, "default": 200, "thorough": 400}
_QUEUED_ITEMS = 16


def _torn_reads(context: Context) -> None:
    """Readers racing writers of one slot see whole writes only.

    The first round is one writer of long writes and three readers: a writer that clears a
    slot and then adds its items one by one (or lets readers reach a list it is still
    filling) has a window as long as the write, and free-running threads land in it. The
    queued rounds are two writers and six readers behind one slot's lock, with a clock that
    lets other threads run at every reading (taken while the lock is held): a lock that two
    operations can both come to hold, such as a keyed-lock registry that drops a key's lock
    while others still wait on it, lets a reader into a write only when threads queue on
    the lock, and then every round gives it hundreds of chances."""
    if context.is_async:
        raise Skip("the target is async: the async profile checks concurrent tasks instead")
    rounds = [(1, 3, _TORN_ITEMS, _TORN_WRITES[context.depth], False)]
    queued = (2, 6, _QUEUED_ITEMS, _QUEUED_WRITES[context.depth], True)
    rounds += [queued] * _QUEUED_ROUNDS[context.depth]
    for round_number, (writers, readers, items, writes, yielding) in enumerate(rounds):
        _torn_round(context, round_number, writers, readers, items, writes, yielding)


def _torn_round(
    context: Context,
    round_number: int,
    writers: int,
    readers: int,
    items: int,
    writes: int,
    yielding: bool,
) -> None:
    """One round of :func:`_torn_reads`: ``writers`` threads each making ``writes`` writes of
    ``items`` items (stores and updates in turn) to one slot while ``readers`` threads read it."""
    clock = switching_clock(context) if yielding else None
    driver = context.manager(ttl=3600, clock=clock)
    manager = driver.manager
    plans = [
        [
            IMemoryInput(
                conversation_id="torn",
                data=[IWorkingMemory(working_memory=f"{w}.{n}:{i}") for i in range(items)],
            )
            for n in range(writes)
        ]
        for w in range(writers)
    ]
    driver.call("store", plans[0][0])
    read = IMemoryInput(conversation_id="torn")
    writing = threading.Semaphore(0)
    finished = threading.Event()
    errors: list[str] = []
    torn: list[list[str]] = []
    barrier = threading.Barrier(writers + readers, timeout=context.timeout)

    def whole(texts: list[Any]) -> bool:
        return len(texts) == items and len({str(t).partition(":")[0] for t in texts}) == 1

    def write(plan: list[IMemoryInput]) -> None:
        try:
            barrier.wait()
            for n, request in enumerate(plan[1:], start=1):
                manager.store(request) if n % 2 else manager.update(request)
        except BaseException as exc:
            errors.append(f"writer: raised {exc!r}")
        finally:
            writing.release()

    def reader() -> None:
        try:
            barrier.wait()
            # At least one read each, however soon the writers are done: a reader the
            # scheduler started late must not make the verdict depend on timing.
            while not torn:
                last = finished.is_set()
                texts = seen_texts(manager.retrieve(read))
                if not whole(texts):
                    torn.append([str(t) for t in texts])
                if last:
                    break
        except BaseException as exc:
            errors.append(f"reader: raised {exc!r}")

    def done() -> None:
        for _ in range(writers):
            writing.acquire()
        finished.set()

    with fast_thread_switching():
        pool = [
            threading.Thread(target=write, args=(plan,), daemon=True, name=f"memspec-writer-{w}")
            for w, plan in enumerate(plans)
        ] + [
            threading.Thread(target=reader, daemon=True, name=f"memspec-reader-{i}")
            for i in range(readers)
        ]
        pool.append(threading.Thread(target=done, daemon=True, name="memspec-torn-done"))
        stuck = _stuck(pool, context.timeout * 3)
    where = f"{writers} writer{'s' if writers > 1 else ''} and {readers} readers of one slot"
    if stuck:
        raise CheckFailure((TIMELY,), f"{where} did not return")
    if errors:
        raise CheckFailure(
            ("MM-CONC-001",),
            f"{where} raised {_kind(errors[0])}; expected no exception",
            reproduction=f"# round {round_number}: {errors[0]}",
        )
    seen = "one read racing them"
    if not torn:
        final = seen_texts(driver.call("retrieve", read))
        if not whole(final):
            seen = "the read after them"
            torn.append([str(t) for t in final])
    if torn:
        # The message names the kind of fault only, so that the same seed gives the same
        # report whichever interleaving showed it; what was read is the reproduction.
        got = torn[0]
        shown = got if len(got) <= 6 else [*got[:3], "...", *got[-2:]]
        raise CheckFailure(
            ("MM-CONC-002",),
            f"with {where}, writes of {items} items each, a read returned items that no "
            "single write left; in every serial order a read sees one whole write",
            reproduction=f"# round {round_number}: {seen} returned {len(got)} items: {shown!r}",
        )


def _single(conversation_id: str, text: str | None = None) -> IMemoryInput:
    data = None if text is None else [IWorkingMemory(working_memory=text)]
    return IMemoryInput(conversation_id=conversation_id, data=data)


def _tasks(context: Context) -> None:
    if not context.is_async:
        raise Skip("the target is not async")
    budget = context.budget
    for round_number in range(budget["workloads"]):
        driver = context.manager(ttl=3600)
        workload = hammer_tasks(
            driver,
            tasks=budget["threads"],
            operations=budget["operations"],
            seed=context.seed * 1000 + round_number,
        )
        if judge_workload(context, workload, ("MM-ASYNC-002",), ("MM-ASYNC-002",)):
            return


#: Rounds of the cancellation check, per depth: in each, a store and a retrieve of every slot
#: run as tasks and about a third of them are cancelled at a random await.
_CANCEL_ROUNDS = {"quick": 40, "default": 150, "thorough": 500}
_CANCEL_SLOTS = tuple(
    (f"cancel-{conversation}", memory_type) for conversation, memory_type in _SLOTS
)


def _cancellation(context: Context) -> None:
    """MM-ASYNC-003: tasks cancelled mid-operation leave every slot holding a whole write,
    and the manager answering every later operation as if they had run whole or not at all.
    With one store per slot per round, a slot holding anything but its earlier content or
    the round's whole store can only be a cancellation's doing."""
    if not context.is_async:
        raise Skip("the target is not async: cancelling applies to tasks")
    driver = context.manager(ttl=3600)
    manager = driver.manager
    rng = random.Random(context.seed)
    held: dict[tuple[str, ConversationMemoryType], tuple[str, ...]] = dict.fromkeys(
        _CANCEL_SLOTS, ()
    )

    def texts(result: Any) -> tuple[str, ...] | str:
        found = item_texts(result)  # or what is wrong with the result
        return found if isinstance(found, str) else tuple(found)

    def request(slot: tuple[str, ConversationMemoryType], data: Any = None) -> IMemoryInput:
        return IMemoryInput(conversation_id=slot[0], memory_type=slot[1], data=data)

    async def one_round(number: int) -> tuple[str, str] | None:
        """``None``, or what a read after the round found: (the kind of fault, its detail)."""
        written = {
            slot: tuple(f"{number}:{index}:{part}" for part in range(3))
            for index, slot in enumerate(_CANCEL_SLOTS)
        }
        calls = []
        for slot in _CANCEL_SLOTS:
            items = [IWorkingMemory(working_memory=text) for text in written[slot]]
            calls.append((slot, "store", manager.store(request(slot, items))))
            calls.append((slot, "retrieve", manager.retrieve(request(slot))))
        rng.shuffle(calls)
        tasks = [asyncio.ensure_future(call) for _, _, call in calls]
        for _ in range(rng.randrange(4)):
            await asyncio.sleep(0)
        for task in tasks:
            if rng.random() < 0.35:
                task.cancel()
        # What the tasks themselves saw is async:tasks' business (MM-ASYNC-002): here only
        # what the round leaves behind is judged, one read at a time, with nothing racing.
        results = await asyncio.gather(*tasks, return_exceptions=True)
        cancelled = sum(isinstance(result, asyncio.CancelledError) for result in results)
        for slot in _CANCEL_SLOTS:  # the slots one at a time, after the round
            try:
                got = texts(await manager.retrieve(request(slot)))
            except Exception as exc:
                return f"raised {type(exc).__name__}", (
                    f"after a round where {cancelled} of {len(tasks)} tasks were cancelled, "
                    f"a retrieve of slot {slot[0]!r} ({slot[1].name}) raised {exc!r}"
                )
            if got not in (held[slot], written[slot]):
                return "returned neither what the slot held before nor the round's whole store", (
                    f"after a round where {cancelled} of {len(tasks)} tasks were cancelled, "
                    f"slot {slot[0]!r} ({slot[1].name}) reads {got!r}: neither what it held "
                    f"before ({list(held[slot])!r}) nor the round's whole store "
                    f"({list(written[slot])!r})"
                )
            held[slot] = got
        return None

    for number in range(_CANCEL_ROUNDS[context.depth]):
        problem = driver.run(lambda: one_round(number), label="cancelled tasks")  # noqa: B023
        if problem is not None:
            # The message names the kind of fault only, so that the same seed gives the same
            # report whichever await the cancellations landed on; the details reproduce it.
            fault, detail = problem
            raise CheckFailure(
                ("MM-ASYNC-003",),
                f"after tasks were cancelled at random awaits, a read of a slot {fault}; a "
                "cancelled operation must act whole or not at all, and leave every other one "
                "the outcome of some serial order",
                reproduction=f"# round {number}, seed {context.seed}: {detail}",
            )


def judge_workload(
    context: Context,
    workload: Workload,
    crash_ids: tuple[str, ...],
    order_ids: tuple[str, ...],
    resurrect_ids: tuple[str, ...] | None = None,
    *,
    setting: str = "",
) -> bool:
    """Record what one workload witnessed; whether it witnessed anything.

    Messages name the kind of fault only, so that the same seed gives the same report
    whichever interleaving showed it; the recorded history is the reproduction. ``setting``
    says how the workers reached the backend, when not through one manager."""
    where = f" {setting}" if setting else ""
    if workload.unfinished:
        # Calls that never return witness MM-RES-002 alone; the rest cannot be judged.
        message = f"concurrent workers{where} did not finish within the time limit"
        context.outcome.fail(Failure((TIMELY,), message))
        context.outcome.leave((*crash_ids, *order_ids), f"not judged: {message}")
        return True
    if workload.errors:
        first = workload.errors[0]
        context.outcome.fail(
            Failure(
                crash_ids,
                f"operations called concurrently{where} raised exceptions ({_kind(first)}); "
                "expected none",
                reproduction="# one exception raised under concurrent use:\n# " + first,
            )
        )
        if not workload.final or set(crash_ids) & set(order_ids):
            context.outcome.leave(order_ids, "not judged: concurrent calls raised exceptions")
            return True
        # The calls that raised are indeterminate in the history: the order of the rest is
        # judged all the same, so that a race is reported whatever else the manager does.
    problem = explain(workload.events, workload.final)
    if (
        problem is not None
        and resurrect_ids is not None
        and explain(workload.events, workload.final, update_creates=True) is None
    ):
        context.outcome.fail(
            Failure(
                resurrect_ids,
                f"an update racing a delete of the same slot{where} brought the slot back; "
                "in every serial order the update of a deleted slot does nothing",
                reproduction="# the recorded history (replay it by hand):\n# "
                + problem.replace("\n", "\n# "),
            )
        )
        return True
    if problem is not None:
        context.outcome.fail(
            Failure(
                order_ids,
                f"operations called concurrently{where} on one slot had an outcome that no "
                "serial order of them explains; expected the outcome of some serial order",
                reproduction="# the recorded history (replay it by hand):\n# "
                + problem.replace("\n", "\n# "),
            )
        )
        return True
    return bool(workload.errors)


def _kind(error: str) -> str:
    """The exception type named in a recorded error, e.g. ``RuntimeError``."""
    _, _, rest = error.partition(" raised ")
    return rest.split("(", 1)[0] or "an exception"


CHECKS: tuple[Check, ...] = (
    Check(
        "concurrency:threads",
        Profile.CONCURRENCY,
        ("MM-CONC-001", "MM-CONC-002"),
        _threads,
        "random operations from many threads agree with a serial order",
    ),
    Check(
        "concurrency:torn-reads",
        Profile.CONCURRENCY,
        ("MM-CONC-001", "MM-CONC-002"),
        _torn_reads,
        "readers racing writers of one slot, long writes and queued ones, see whole writes only",
    ),
    Check(
        "concurrency:update-delete-race",
        Profile.CONCURRENCY,
        ("MM-CONC-003",),
        _update_delete_race,
        "an update racing a delete never brings the slot back",
    ),
    Check(
        "concurrency:expiry-race",
        Profile.CONCURRENCY,
        ("MM-CONC-001", "MM-CONC-002"),
        _expiry_race,
        "stores racing the clean-up of expired slots are never lost",
    ),
    Check(
        "concurrency:churn",
        Profile.CONCURRENCY,
        ("MM-CONC-001", "MM-CONC-002"),
        _churn,
        "threads add new slots while clean-up sweeps walk a large map",
    ),
    Check(
        "async:tasks",
        Profile.ASYNC,
        ("MM-ASYNC-002",),
        _tasks,
        "random operations from many tasks agree with a serial order",
    ),
    Check(
        "async:cancellation",
        Profile.ASYNC,
        ("MM-ASYNC-003",),
        _cancellation,
        "tasks cancelled at random awaits leave whole writes and correct answers behind",
    ),
)
