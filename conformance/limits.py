"""Measuring a manager's bounds: the longest conversation ID, the largest item and the most
items in one write it accepts, and what it declares about its clock and expiry precision.

These are facts for the report (:class:`~memspec.report.MeasuredLimits`), never verdicts: the
floors every manager must reach are requirements of their own (``MM-LIMIT-004``,
``MM-LIMIT-005``, ``MM-FID-004``, ``MM-TTL-013``), judged by the dimension and timing checks.
Each dimension is probed along a ladder of values up to well past those floors, stopping at
the first refusal, so a user choosing between managers can compare how far each one goes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from memspec.catalogue import Profile
from memspec.conformance.calls import memory_input, write
from memspec.conformance.checks import Check, Context
from memspec.conformance.dimensions import FLOOR_BYTES, FLOOR_ITEMS, ID_FLOOR_BYTES
from memspec.conformance.driver import CallTimeout, Driver
from memspec.report import Bound

__all__ = ["CHECKS", "COUNT_LADDER", "ID_LADDER", "ITEM_LADDER", "Unit", "ladder"]

_KIB, _MIB = 1 << 10, 1 << 20

#: The values each dimension is tried at, in bytes of UTF-8 or items: from the floor up.
ID_LADDER: tuple[int, ...] = (ID_FLOOR_BYTES, 4 * _KIB, 64 * _KIB, _MIB)
ITEM_LADDER: tuple[int, ...] = (FLOOR_BYTES, _MIB, 4 * _MIB, 16 * _MIB)
COUNT_LADDER: tuple[int, ...] = (FLOOR_ITEMS, 10_000, 100_000)


Unit = Literal["bytes", "items", "seconds"]


def ladder(unit: Unit, values: Sequence[float], attempt: Callable[[float], object]) -> Bound:
    """Try ``attempt`` at each value in turn, up to the first that raises; the bound seen.

    A call that does not return in time counts as a refusal (``CallTimeout``): the manager
    did not accept it, and a larger value would not fare better."""
    accepted: float | None = None
    for value in values:
        try:
            attempt(value)
        except CallTimeout:
            return Bound(unit=unit, accepted=accepted, refused=value, refused_with="no answer")
        except Exception as exc:
            return Bound(
                unit=unit,
                accepted=accepted,
                refused=value,
                refused_with=type(exc).__name__,
            )
        accepted = value
    return Bound(unit=unit, accepted=accepted)


def _written(driver: Driver, conversation_id: str, *texts: str) -> None:
    """Store one slot, then delete it so the next step does not hold the last one's memory."""
    write(driver, "store", conversation_id, *texts)
    driver.delete(memory_input(conversation_id))


def _bounds(context: Context) -> None:
    outcome = context.outcome
    outcome.note_limit("clock", context.target.accepts_clock)
    driver = context.manager(ttl=3600)
    declared = getattr(driver.manager, "expiry_precision", None)
    if isinstance(declared, int | float) and not isinstance(declared, bool) and declared >= 0:
        outcome.note_limit("expiry_precision", float(declared))
    outcome.note_limit(
        "conversation_id",
        ladder("bytes", ID_LADDER, lambda n: _written(driver, "i" * int(n), "x")),
    )
    outcome.note_limit(
        "item", ladder("bytes", ITEM_LADDER, lambda n: _written(driver, "item", "x" * int(n)))
    )
    outcome.note_limit(
        "items_per_write",
        ladder("items", COUNT_LADDER, lambda n: _written(driver, "items", *["x"] * int(n))),
    )


CHECKS: tuple[Check, ...] = (
    Check(
        "limits:bounds",
        Profile.CORE,
        (),
        _bounds,
        "the longest ID, largest item and most items per write accepted (reported, not judged)",
    ),
)
