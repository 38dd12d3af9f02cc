"""Lifetime settings shared by every manager: the TTL argument and the clock."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable

__all__ = ["DEFAULT_TTL", "Clock", "validate_clock", "validate_ttl"]

#: Default lifetime of a slot in seconds: twelve hours.
DEFAULT_TTL = 43200

#: A zero-argument callable returning the current time in seconds.
Clock = Callable[[], float]


def validate_ttl(ttl: object) -> float | None:
    """Return ``ttl`` as seconds (``None`` means no expiry), or raise a clear error.

    Accepts a positive, finite int or float. ``bool`` and non-numbers raise ``TypeError``;
    zero, negatives, NaN and infinity raise ``ValueError``.
    """
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real):
        raise TypeError(
            f"ttl must be a positive number of seconds or None, not {type(ttl).__name__} {ttl!r}"
        )
    seconds = float(ttl)
    if math.isinf(seconds):
        raise ValueError("ttl must be finite; pass ttl=None to disable expiry")
    if not seconds > 0:
        raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
    return seconds


def validate_clock(clock: Clock | None) -> Clock:
    """Return ``clock``, or :func:`time.monotonic` when it is ``None``; reject non-callables."""
    if clock is None:
        return time.monotonic
    if not callable(clock):
        raise TypeError(
            f"clock must be a zero-argument callable returning seconds, not {type(clock).__name__}"
        )
    return clock
