"""Checking a concurrent history against serial orders (linearizability).

Threads record each operation with the time it was called and the time it returned. The
history is correct when some serial order of the operations, one that keeps every operation
that returned before another was called ahead of it, explains every result observed and the
final state. Slots are independent, so each slot's history is checked on its own (a property
of linearizability called locality), by the Wing & Gong search with memoisation.

A call that raised ``MemoryBackendError`` has an indeterminate outcome (``MM-ERR-002``): it
may have been applied, whole, at any time after it was called, or never. Such an event is
recorded with ``indeterminate=True``; the search tries it both ways and never lets it hold
back the operations called after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Event", "explain"]

#: A slot's content in a serial execution: its items, or ``None`` when missing.
State = tuple[str, ...] | None


@dataclass(frozen=True)
class Event:
    """One completed operation: what it was, what it returned, and when it ran."""

    slot: Hashable
    operation: str
    """``store``, ``update``, ``delete`` or ``retrieve``."""
    written: tuple[str, ...] = ()
    """The items a store or update wrote."""
    observed: tuple[str, ...] | None = None
    """The items a retrieve returned."""
    start: int = 0
    end: int = 0
    thread: int = 0
    indeterminate: bool = False
    """The call raised (``MemoryBackendError``, or any exception under concurrent use, which
    ``MM-CONC-001`` judges on its own): applied whole at some time after ``start``, or never;
    a retrieve that raised observed nothing."""
    raised: str = "MemoryBackendError"
    """What an indeterminate call raised, for messages."""

    def apply(self, state: State, *, update_creates: bool = False) -> tuple[bool, State]:
        """Run this operation on ``state`` serially: (was its result possible?, new state).

        ``update_creates`` models a manager whose ``update`` may write a missing slot, to
        tell a history that only an update racing a delete explains from any other."""
        if self.operation == "store":
            return True, self.written
        if self.operation == "update":
            return True, (self.written if state is not None or update_creates else None)
        if self.operation == "delete":
            return True, None
        return (self.observed == (state or ())), state

    def describe(self) -> str:
        """A short, readable form for failure messages."""
        if self.indeterminate:
            call = f"{self.operation}({list(self.written)!r})" if self.written else self.operation
            return f"thread {self.thread}: {call} raised {self.raised} (indeterminate)"
        if self.operation in ("store", "update"):
            return f"thread {self.thread}: {self.operation}({list(self.written)!r})"
        if self.operation == "retrieve":
            return f"thread {self.thread}: retrieve() -> {list(self.observed or ())!r}"
        return f"thread {self.thread}: delete()"


def _linearizable(
    events: list[Event], initial: State, final: State, budget: int, update_creates: bool = False
) -> bool | None:
    """Whether a serial order explains ``events``; ``None`` when the search ran out of budget."""
    count = len(events)
    full = (1 << count) - 1
    failed: set[tuple[int, State]] = set()
    steps = 0

    def search(done: int, state: State) -> bool | None:
        nonlocal steps
        if done == full:
            return state == final
        if (done, state) in failed:
            return False
        steps += 1
        if steps > budget:
            return None
        pending = [i for i in range(count) if not done & (1 << i)]
        ends = [events[i].end for i in pending if not events[i].indeterminate]
        horizon = min(ends) if ends else None
        for i in pending:
            if horizon is not None and events[i].start > horizon:
                continue  # some pending operation returned before this one was called
            event = events[i]
            possible, after = event.apply(state, update_creates=update_creates)
            if event.indeterminate and event.operation == "retrieve":
                possible, after = True, state
            if possible:
                found = search(done | (1 << i), after)
                if found is None or found:
                    return found
            if event.indeterminate and after != state:
                found = search(done | (1 << i), state)  # never applied
                if found is None or found:
                    return found
        failed.add((done, state))
        return False

    return search(0, initial)


def explain(
    events: Iterable[Event],
    final: Mapping[Hashable, State],
    *,
    initial: Mapping[Hashable, State] | None = None,
    budget: int = 200_000,
    update_creates: bool = False,
) -> str | None:
    """Return ``None`` when a serial order explains the history, else what cannot be explained.

    ``final`` gives each slot's content read after every thread finished; ``initial`` its
    content before they started (missing by default). A search that exceeds ``budget`` steps
    for a slot counts as explained: the check never fails a manager it could not decide on.
    """
    by_slot: dict[Hashable, list[Event]] = defaultdict(list)
    for event in events:
        by_slot[event.slot].append(event)
    for slot, history in sorted(by_slot.items(), key=lambda pair: repr(pair[0])):
        history.sort(key=lambda e: (e.start, e.end))
        start = (initial or {}).get(slot)
        verdict = _linearizable(history, start, final.get(slot), budget, update_creates)
        if verdict is False:
            shown = "\n  ".join(e.describe() for e in history[-12:])
            return (
                f"slot {slot!r}: no serial order of its {len(history)} operations explains what "
                f"was observed (final content {list(final.get(slot) or ())!r}); the last "
                f"operations were:\n  {shown}"
            )
    return None
