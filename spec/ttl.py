"""Lifetime settings shared by every manager: the TTL argument and the clock."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable

__all__ = [
    "DEFAULT_TTL",
    "MAX_TTL",
    "SHORTEST_TTL",
    "TTL_FLOOR",
    "Clock",
    "validate_clock",
    "validate_ttl",
]

#: Default lifetime of a slot in seconds: twelve hours.
DEFAULT_TTL = 43200

#: The longest lifetime the reference managers accept, in seconds: 100 Julian years. This is
#: their own choice, not the contract's: ``MM-TTL-013`` asks every manager to accept up to
#: :data:`TTL_FLOOR` and lets it refuse more at construction, or accept and honour it. Every
#: backend here honours it exactly (Redis counts expiry in 64-bit milliseconds from now, SQLite
#: and the in-process managers add it to a float clock reading); ``None`` means no expiry.
MAX_TTL = 3_155_760_000

#: The longest lifetime every manager must accept, in seconds: 30 days (``MM-TTL-013``), the
#: longest relative expiry memcached takes.
TTL_FLOOR = 2_592_000

#: The shortest lifetime every manager must accept, in seconds: a millisecond (``MM-TTL-013``).
SHORTEST_TTL = 0.001

#: A zero-argument callable returning the current time in seconds.
Clock = Callable[[], float]


def validate_ttl(ttl: object) -> float | None:
    """Return ``ttl`` as seconds (``None`` means no expiry), or raise a clear error.

    Accepts a positive int or float up to :data:`MAX_TTL`, the reference managers' own bound.
    ``bool`` and non-numbers raise ``TypeError``; zero, negatives and NaN raise ``ValueError``
    (``MM-TTL-008``, ``MM-TTL-013``), and so do infinity and anything above :data:`MAX_TTL`
    (``1e300``, ``10**400``): here, at construction, rather than on every later write of a
    backend that cannot represent the expiry time, as ``MM-TTL-013`` allows above its floor.
    """
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real):
        raise TypeError(
            f"ttl must be a positive number of seconds or None, not {type(ttl).__name__} {ttl!r}"
        )
    if isinstance(ttl, numbers.Integral) and int(ttl) > MAX_TTL:
        raise ValueError(_too_long(ttl))  # before float(), which overflows past 1e308
    try:
        seconds = float(ttl)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"ttl {ttl!r} is not a usable number of seconds") from exc
    if math.isinf(seconds):
        raise ValueError("ttl must be finite; pass ttl=None to disable expiry")
    if not seconds > 0:
        raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
    if seconds > MAX_TTL:
        raise ValueError(_too_long(ttl))
    return seconds


def _too_long(ttl: object) -> str:
    shown = repr(ttl) if len(repr(ttl)) <= 40 else f"{repr(ttl)[:20]}... ({len(repr(ttl))} digits)"
    return (
        f"ttl must be at most {MAX_TTL} seconds (100 years), got {shown}; "
        "pass ttl=None to disable expiry"
    )


def validate_clock(clock: Clock | None) -> Clock:
    """Return ``clock``, or :func:`time.monotonic` when it is ``None``; reject non-callables."""
    if clock is None:
        return time.monotonic
    if not callable(clock):
        raise TypeError(
            f"clock must be a zero-argument callable returning seconds, not {type(clock).__name__}"
        )
    return clock
