"""TTL checks that need a clock: the injected one, or real time for targets without one.

With an injected clock expiry is exact. Without one, the suite writes slots with a short,
fractional TTL and reads them at times it controls with sleeps, a little over a second in
all. A read only counts when it ran wholly inside the window where the answer is certain:
after the write returned and before it could expire, or after it must have expired
(``ttl`` plus the target's declared expiry precision).
"""

from __future__ import annotations

import inspect
import time

from memspec.catalogue import Profile
from memspec.conformance.calls import read, write
from memspec.conformance.checks import Check, Context, Skip
from memspec.conformance.driver import Driver
from memspec.conformance.results import CheckFailure
from memspec.ttl import DEFAULT_TTL

__all__ = ["CHECKS", "DEFAULT_PRECISION", "expiry_precision"]

#: Expiry precision assumed for a target that declares none, in seconds.
DEFAULT_PRECISION = 0.05

_EPSILON = 2.0**-10


def expiry_precision(manager: object) -> float:
    """The precision a manager declares as ``expiry_precision`` (seconds), or the default."""
    declared = getattr(manager, "expiry_precision", None)
    return float(declared) if isinstance(declared, int | float) else DEFAULT_PRECISION


def _injected_clock(context: Context) -> None:
    clock = context.clock()
    driver = context.manager(ttl=10, clock=clock)
    write(driver, "store", "clocked", "x")
    clock.advance(10 - _EPSILON)
    if read(driver, "clocked") != ["x"]:
        raise CheckFailure(("MM-TTL-010",), "the slot expired before the injected clock said so")
    clock.advance(_EPSILON)
    if read(driver, "clocked") != []:
        raise CheckFailure(
            ("MM-TTL-010",), "the slot outlived its TTL on the injected clock: is the clock used?"
        )


def _default_ttl(context: Context) -> None:
    if context.target.accepts_clock:
        clock = context.clock()
        driver = context.manager(clock=clock)
        write(driver, "store", "default", "x")
        clock.advance(DEFAULT_TTL - _EPSILON)
        alive = read(driver, "default")
        clock.advance(_EPSILON)
        if alive != ["x"] or read(driver, "default") != []:
            raise CheckFailure(("MM-TTL-009",), "without a ttl argument, slots do not live 43200 s")
        return
    try:
        parameter = inspect.signature(context.target.factory).parameters.get("ttl")
    except (TypeError, ValueError):
        parameter = None
    if parameter is None or parameter.default is inspect.Parameter.empty:
        raise Skip("no clock to wait 12 hours with, and no ttl default in the signature")
    if parameter.default != DEFAULT_TTL:
        raise CheckFailure(("MM-TTL-009",), f"the ttl parameter defaults to {parameter.default!r}")


class _Timed:
    """Calls on a driver that remember when they started and returned."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    def write(self, operation: str, slot: str, text: str) -> tuple[float, float]:
        start = time.monotonic()
        write(self.driver, operation, slot, text)
        return start, time.monotonic()

    def read(self, slot: str) -> tuple[list[str], float, float]:
        start = time.monotonic()
        texts = read(self.driver, slot)
        return texts, start, time.monotonic()


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class _TooSlow(Exception):
    """A read did not finish inside the window where its answer is certain."""


def _real_time(context: Context) -> None:
    if context.target.accepts_clock:
        raise Skip("expiry is checked exactly with the injected clock instead")
    for _ in range(3):  # a busy machine can stall past a window; try again before giving up
        try:
            _real_time_once(context)
            return
        except _TooSlow:
            continue
    raise Skip("the machine was too slow three times to read before expiry; TTL not judged")


def _real_time_once(context: Context) -> None:
    ttl = 0.75
    timed = _Timed(context.manager(ttl=ttl))
    precision = expiry_precision(timed.driver.manager)
    forever = context.manager(ttl=None)
    write(forever, "store", "forever", "x")

    a_start, a_end = timed.write("store", "expires", "a")
    timed.write("store", "updated", "b")
    c_start, c_end = timed.write("store", "read-often", "c")

    _sleep_until(a_start + ttl * 0.4)
    b_start, b_end = timed.write("update", "updated", "b2")
    texts, start, end = timed.read("read-often")
    if texts != ["c"] and end < c_start + ttl:
        raise CheckFailure(
            ("MM-TTL-001", "MM-TTL-006"), f"a {ttl} s slot was gone after {end - c_start:.3f} s"
        )

    _sleep_until(a_start + ttl * 0.6)
    texts, start, end = timed.read("expires")
    if end >= a_start + ttl:
        raise _TooSlow
    if texts != ["a"]:
        raise CheckFailure(
            ("MM-TTL-001", "MM-TTL-006"),
            f"a slot with ttl={ttl} was gone {end - a_end:.3f} s after it was written",
        )

    _sleep_until(max(a_end, c_end) + ttl + precision)
    texts, start, end = timed.read("expires")
    if texts:
        raise CheckFailure(
            ("MM-TTL-002", "MM-TTL-006"),
            f"a slot with ttl={ttl} was still returned {start - a_end:.3f} s after it was written",
        )
    texts, start, end = timed.read("read-often")
    if texts:
        raise CheckFailure(
            ("MM-TTL-005",), "a slot that was read outlived its TTL: reads extended it"
        )
    texts, start, end = timed.read("updated")
    if end < b_start + ttl and texts != ["b2"]:
        raise CheckFailure(
            ("MM-TTL-004",),
            f"a slot updated {b_end - a_end:.3f} s after it was stored expired with the "
            "lifetime of the store",
        )
    timed.write("update", "expires", "revived?")
    if timed.read("expires")[0]:
        raise CheckFailure(("MM-TTL-003",), "update brought an expired slot back")
    timed.write("store", "expires", "fresh")
    if timed.read("expires")[0] != ["fresh"]:
        raise CheckFailure(("MM-TTL-003",), "store after expiry did not write a fresh slot")

    _sleep_until(b_end + ttl + precision)
    if timed.read("updated")[0]:
        raise CheckFailure(
            ("MM-TTL-002", "MM-TTL-004"), "an updated slot outlived its new lifetime"
        )
    if read(forever, "forever") != ["x"]:
        raise CheckFailure(("MM-TTL-007",), "a slot of a manager built with ttl=None expired")


CHECKS: tuple[Check, ...] = (
    Check(
        "timing:injected-clock",
        Profile.TTL,
        ("MM-TTL-010",),
        _injected_clock,
        "expiry follows the injected clock",
    ),
    Check(
        "timing:default-ttl",
        Profile.TTL,
        ("MM-TTL-009",),
        _default_ttl,
        "the default ttl is 43200 s",
    ),
    Check(
        "timing:real-time",
        Profile.TTL,
        (
            "MM-TTL-001",
            "MM-TTL-002",
            "MM-TTL-003",
            "MM-TTL-004",
            "MM-TTL-005",
            "MM-TTL-006",
            "MM-TTL-007",
        ),
        _real_time,
        "expiry in real time, for targets without a clock",
    ),
)
