"""Where a worker process marks the manager calls it is making, for its parent to read.

A call limit enforced inside the worker holds only while the worker's Python code can run: a
target that holds the GIL (a catastrophic regular expression, a C extension in a loop) stops
the waiting thread too. So each driver also marks its call's start and limit on a
:class:`CallBoard`, a page of memory shared with the parent, and clears the mark when the call
returns. The parent reads the board without the worker's help and kills a worker whose call
has run past its limit plus a grace period; the call's operation is then remembered as
*held*, and later workers refuse that operation at once (:func:`held`) rather than let each
check wait it out again.
"""

from __future__ import annotations

import itertools
import mmap
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = [
    "TIMELY",
    "CallBoard",
    "CallTimeout",
    "Overdue",
    "TimeUp",
    "current",
    "held",
    "marked",
    "refuse_held",
    "serve",
]


class CallTimeout(Exception):
    """A manager call did not return within the time limit: the witness of ``MM-RES-002``
    (calls return in time), and of nothing about content."""


class TimeUp(CallTimeout):
    """A call was not made, or was cut short, for a reason that witnesses nothing by itself:
    the check's own time ran out, or an earlier call of the same driver never returned."""


#: The requirement a call that did not return in time contradicts.
TIMELY = "MM-RES-002"


#: One mark: when the call started (``time.monotonic()``, 0 for none), its limit in seconds,
#: and the operation's name.
_MARK = struct.Struct("dd32s")

#: Marks a board holds: one per driver in use at a time, drivers taking them in turn.
_SLOTS = 16


@dataclass(frozen=True)
class Overdue:
    """A call the parent found running past its limit."""

    label: str
    limit: float


class CallBoard:
    """Marks of the calls in flight, in anonymous memory shared across ``fork``."""

    def __init__(self) -> None:
        self._page = mmap.mmap(-1, _MARK.size * _SLOTS)
        self._turns = itertools.count()

    def slot(self) -> int:
        """A mark for one driver to use (drivers take them in turn)."""
        return next(self._turns) % _SLOTS

    def begin(self, slot: int, label: str, limit: float, started: float) -> None:
        """Mark a call of ``label`` as started at ``started`` (``time.monotonic()``), allowed
        ``limit`` seconds."""
        _MARK.pack_into(self._page, slot * _MARK.size, started, limit, label.encode()[:32])

    def end(self, slot: int) -> None:
        """Clear a mark: its call returned (or was given up on by the worker itself)."""
        _MARK.pack_into(self._page, slot * _MARK.size, 0.0, 0.0, b"")

    def overdue(self, grace: float) -> Overdue | None:
        """The first call still marked ``grace`` seconds past its limit, if any."""
        now = time.monotonic()
        for slot in range(_SLOTS):
            started, limit, label = _MARK.unpack_from(self._page, slot * _MARK.size)
            if started and now > started + limit + grace:
                return Overdue(label.rstrip(b"\0").decode(errors="replace"), limit)
        return None

    def close(self) -> None:
        """Release the page (the parent, once its worker is gone)."""
        self._page.close()


_board: CallBoard | None = None
_held: frozenset[str] = frozenset()


def serve(board: CallBoard | None, held_calls: frozenset[str]) -> None:
    """In a worker: mark calls on ``board`` and refuse the ``held_calls`` from now on."""
    global _board, _held
    _board, _held = board, held_calls


def current() -> CallBoard | None:
    """The board this process marks its calls on; ``None`` outside a worker."""
    return _board


def held() -> frozenset[str]:
    """Operations that held an earlier worker past the call limit; refused at once."""
    return _held


def refuse_held(label: str, limit: float) -> None:
    """:class:`CallTimeout` when a call of ``label`` held an earlier worker past its limit."""
    if label in _held:
        raise CallTimeout(
            f"not called: a {label} call held an earlier worker past its limit ({limit:g} s) "
            "without returning (the process did not respond)"
        )


#: The label of a workload of threads that call a manager directly, marked as one call.
WORKLOAD = "concurrent calls"


@contextmanager
def marked(limit: float, label: str = WORKLOAD) -> Iterator[None]:
    """Mark what the block does (threads calling the manager directly) as one call allowed
    ``limit`` seconds; :class:`CallTimeout` at once when such a call held a worker before."""
    refuse_held(label, limit)
    board = _board
    slot = board.slot() if board is not None else 0
    if board is not None:
        board.begin(slot, label, limit, time.monotonic())
    try:
        yield
    finally:
        if board is not None:
            board.end(slot)
