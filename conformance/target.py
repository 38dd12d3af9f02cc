"""The manager under test: resolving ``module:attr``, building instances, the fake clock."""

from __future__ import annotations

import importlib
import inspect
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["UNSET", "FakeClock", "Target", "TargetError", "resolve_target"]

_OPERATIONS = ("store", "retrieve", "update", "delete")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: Passed as ``ttl`` to :meth:`Target.build` to leave the argument out (the default TTL).
UNSET: Any = _Unset()


class TargetError(Exception):
    """The target cannot be certified as given (not importable, not callable, no methods)."""


class FakeClock:
    """A clock the suite moves by hand: ``clock()`` reads it, ``advance(s)`` moves it."""

    def __init__(self, start: float = 1000.0, *, switching: bool = False) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        #: Whether every reading yields the processor to other threads (race checks).
        self.switching = switching

    def __call__(self) -> float:
        if self.switching:
            time.sleep(0)
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock(start={self._now!r})"

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backward)."""
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward")
        with self._lock:
            self._now += seconds

    def set(self, now: float) -> None:
        """Move the clock to ``now``, which must not be earlier than the current reading."""
        with self._lock:
            if now < self._now:
                raise ValueError("a FakeClock only moves forward")
            self._now = float(now)


def _accepts_clock(factory: Callable[..., Any]) -> bool:
    """Whether the factory's signature names a ``clock`` parameter explicitly (not **kwargs)."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return False
    parameter = signature.parameters.get("clock")
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


@dataclass(frozen=True)
class Target:
    """A manager factory (a class or a callable) and what the suite knows about it.

    ``build(ttl=..., clock=...)`` makes a fresh manager; the clock is passed only when the
    factory names a ``clock`` parameter. ``second`` builds another manager over the same
    backend as a given one (for the persistence profile), when the target supports it;
    ``outage(manager)`` is a context manager inside which that backend is unreachable
    (``memspec_outage``), when the target can cut it.
    """

    factory: Callable[..., Any]
    name: str
    accepts_clock: bool = field(default=False)
    reopen: Callable[[Any], Any] | None = field(default=None)
    outage: Callable[[Any], AbstractContextManager[Any]] | None = field(default=None)

    @classmethod
    def from_factory(
        cls,
        factory: Callable[..., Any],
        name: str | None = None,
        reopen: Callable[[Any], Any] | None = None,
        outage: Callable[[Any], AbstractContextManager[Any]] | None = None,
    ) -> Target:
        """Describe a factory; ``TargetError`` when it is not callable or its hooks are not.

        ``reopen`` and ``outage`` default to the factory's ``memspec_reopen`` and
        ``memspec_outage`` attributes."""
        if not callable(factory):
            raise TargetError(f"{name or factory!r} is not callable: give a class or a factory")
        label = name or f"{factory.__module__}:{getattr(factory, '__qualname__', repr(factory))}"
        if reopen is None:
            reopen = getattr(factory, "memspec_reopen", None)
        if outage is None:
            outage = getattr(factory, "memspec_outage", None)
        for hook, value in (("memspec_reopen", reopen), ("memspec_outage", outage)):
            if value is not None and not callable(value):
                raise TargetError(
                    f"{label}: {hook} must be a callable taking a manager, "
                    f"not {type(value).__name__}"
                )
        return cls(factory, label, _accepts_clock(factory), reopen, outage)

    def build(self, ttl: Any = UNSET, clock: Callable[[], float] | None = None) -> Any:
        """Build a manager; ``ttl=UNSET`` leaves the argument out."""
        kwargs: dict[str, Any] = {}
        if ttl is not UNSET:
            kwargs["ttl"] = ttl
        if clock is not None and self.accepts_clock:
            kwargs["clock"] = clock
        return self.factory(**kwargs)

    def is_async(self, manager: Any) -> bool:
        """Whether the manager's operations are coroutine functions."""
        return all(inspect.iscoroutinefunction(getattr(manager, op, None)) for op in _OPERATIONS)

    def check_shape(self, manager: Any) -> None:
        """``TargetError`` unless the manager has the four operations, all sync or all async."""
        missing = [op for op in _OPERATIONS if not callable(getattr(manager, op, None))]
        if missing:
            raise TargetError(
                f"{self.name} built a {type(manager).__name__} without "
                f"{', '.join(missing)}: a manager needs store, retrieve, update and delete"
            )
        kinds = {inspect.iscoroutinefunction(getattr(manager, op)) for op in _OPERATIONS}
        if len(kinds) > 1:
            raise TargetError(f"{self.name}: the four operations must be all sync or all async")


def resolve_target(spec: str) -> Target:
    """Import ``module:attr`` (``attr`` may be dotted) and describe it as a :class:`Target`."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(f"target {spec!r} must look like module:attr, e.g. mypkg.memory:Manager")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"cannot import module {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"module {module_name!r} has no attribute {attr!r}") from None
    return Target.from_factory(obj, name=spec)
