"""The check registry and the context a check runs in.

A :class:`Check` exercises a few requirements of one profile against a target and either
returns (they hold), raises :class:`~memspec.conformance.results.CheckFailure` naming the
requirements it saw broken, or raises :class:`Skip` when it cannot run against this target.
The :class:`Context` builds managers for it, each driven through its own
:class:`~memspec.conformance.driver.Driver`, and tears them down afterwards.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from memspec.catalogue import Profile
from memspec.conformance.callboard import TIMELY, TimeUp
from memspec.conformance.driver import DEFAULT_CALL_TIMEOUT, CallTimeout, Driver
from memspec.conformance.results import CheckFailure, CheckOutcome, Failure, short
from memspec.conformance.target import UNSET, FakeClock, Target
from memspec.ttl import SHORTEST_TTL, TTL_FLOOR

__all__ = [
    "DEPTHS",
    "Check",
    "Context",
    "Depth",
    "Skip",
    "Unjudged",
    "all_checks",
    "close_manager",
    "fast_thread_switching",
    "refused_setting",
    "run_check",
    "timed_out",
]

Depth = Literal["quick", "default", "thorough"]

#: Seconds one check may take in all, unless told otherwise.
DEFAULT_CHECK_TIMEOUT = 300.0

#: How hard the randomised checks search, per depth: hypothesis examples and steps per example.
DEPTHS: dict[str, dict[str, int]] = {
    "quick": {
        "examples": 15,
        "steps": 20,
        "rounds": 40,
        "threads": 4,
        "operations": 80,
        "workloads": 4,
    },
    "default": {
        "examples": 120,
        "steps": 40,
        "rounds": 200,
        "threads": 8,
        "operations": 120,
        "workloads": 10,
    },
    "thorough": {
        "examples": 600,
        "steps": 60,
        "rounds": 800,
        "threads": 8,
        "operations": 300,
        "workloads": 30,
    },
}


class Skip(Exception):
    """The check does not apply to this target; the message says why."""


class Unjudged(Exception):
    """A probe cannot judge its requirements on this target (another requirement's fault
    is in the way); the message says why. They are left for other checks to judge."""


@dataclass(frozen=True)
class Check:
    """One named check: which profile it belongs to and which requirements it exercises."""

    name: str
    profile: Profile
    requirements: tuple[str, ...]
    run: Callable[[Context], None]
    description: str = ""


@dataclass
class Context:
    """What a check needs: the target, the run's settings, and fresh managers on demand."""

    target: Target
    is_async: bool
    depth: Depth = "default"
    seed: int = 0
    timeout: float = DEFAULT_CALL_TIMEOUT
    shrink: bool = True
    """Whether randomised checks shrink a failure to a minimal reproduction (slower)."""
    check_timeout: float = DEFAULT_CHECK_TIMEOUT
    """Seconds one check may take in all; calls after that fail with CallTimeout."""
    deadline: float | None = None
    outcome: CheckOutcome = field(default_factory=lambda: CheckOutcome(check=""))
    """Where probes record what they judged; :func:`run_check` gives each check a fresh one."""
    _drivers: list[Driver] = field(default_factory=list)

    @contextmanager
    def probe(self, *requirement_ids: str, what: str = "") -> Iterator[None]:
        """Judge ``requirement_ids`` with the code in the block, on its own.

        The block passes them when it ends normally; a :class:`CheckFailure` it raises is
        recorded (its other IDs left unjudged) and the check goes on with its next probe. An
        exception from the target inside the block is a witness against these requirements:
        their statements promise the calls the block makes succeed.
        """
        outcome = self.outcome
        try:
            yield
        except Skip as skip:
            outcome.skip(requirement_ids, str(skip))
        except Unjudged as reason:
            outcome.leave(requirement_ids, str(reason))
        except CheckFailure as failure:
            outcome.fail(failure.failure)
            outcome.leave(requirement_ids, f"stopped at a failure of {_ids(failure)}")
        except CallTimeout as exc:
            timed_out(outcome, requirement_ids, f"{what or 'a call'}: {exc}", exc)
        except Exception as exc:
            outcome.fail(
                Failure(
                    requirement_ids,
                    f"{what + ': ' if what else ''}the target raised {type(exc).__name__}: "
                    f"{short(str(exc), 300)}",
                )
            )
        else:
            outcome.pass_(requirement_ids)

    @property
    def budget(self) -> dict[str, int]:
        """The numbers for this run's depth."""
        return DEPTHS[self.depth]

    def manager(self, ttl: Any = UNSET, clock: FakeClock | None = None) -> Driver:
        """Build a fresh manager (on its own driver thread) and return the driver.

        A constructor that refuses a setting every manager must take (``ValueError`` or
        ``TypeError``) is a witness against the requirement that says so, whichever probe
        asked for the manager: a ttl from 1 ms to 30 days (MM-TTL-013), ``ttl=None``
        (MM-TTL-007) or no ttl at all (MM-MODEL-004)."""
        driver = self.driver()
        if clock is None and self.target.accepts_clock:
            # A clock it need not move: a manager that works only when given one fails
            # MM-MODEL-004 (targeted:as-users-build), not whatever this probe is about.
            clock = FakeClock()
        try:
            built = driver.run_sync(lambda: self.target.build(ttl=ttl, clock=clock), label="build")
        except (ValueError, TypeError) as exc:
            blamed = refused_setting(ttl)
            if blamed is None:
                raise
            raise CheckFailure(
                (blamed,),
                f"the constructor refused {'no ttl argument' if ttl is UNSET else f'ttl={ttl!r}'}"
                f" with {type(exc).__name__}: {short(str(exc), 200)}",
            ) from exc
        driver.attach(built)
        return driver

    def reopen(self, driver: Driver) -> Driver:
        """A second manager over the same backend as ``driver``'s (persistence profile)."""
        reopen = self.target.reopen
        if reopen is None:
            raise Skip("the target gives no way to open a second manager on the same backend")
        second = self.driver()
        second.attach(second.run_sync(lambda: reopen(driver.manager), label="reopen"))
        return second

    def outage(self, driver: Driver) -> AbstractContextManager[Any]:
        """The target's ``memspec_outage(manager)`` for ``driver``'s manager: a context
        manager inside which its backend is unreachable; :class:`Skip` without the hook."""
        hook = self.target.outage
        if hook is None:
            raise Skip(
                "the target gives no memspec_outage(manager) to cut its backend, so backend "
                "failures are left to its own tests"
            )
        return hook(driver.manager)

    def driver(self) -> Driver:
        """A driver bound by the call time limit and the check's deadline, closed at the end."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.check_timeout
        driver = Driver(
            timeout=self.timeout, deadline=self.deadline, plain_thread=not self.is_async
        )
        self._drivers.append(driver)
        return driver

    def clock(self, start: float = 1000.0) -> FakeClock:
        """A fake clock standing at ``start``, or :class:`Skip` when the target cannot take
        one."""
        if not self.target.accepts_clock:
            raise Skip("the target's constructor names no clock parameter")
        return FakeClock(start)

    def close(self) -> None:
        """Close every manager built (``aclose``/``close`` if it has one) and its driver."""
        for driver in self._drivers:
            close_manager(driver)
            driver.close()
        self._drivers.clear()


def refused_setting(ttl: Any) -> str | None:
    """The requirement a constructor refusing ``ttl`` contradicts, if any."""
    if ttl is UNSET:
        return "MM-MODEL-004"
    if ttl is None:
        return "MM-TTL-007"
    if isinstance(ttl, int | float) and not isinstance(ttl, bool):
        return "MM-TTL-013" if SHORTEST_TTL <= ttl <= TTL_FLOOR else None
    return None


def close_manager(driver: Driver) -> None:
    """Close a driver's manager with its ``aclose`` or ``close``, if it has one."""
    manager = driver.manager
    closer = getattr(manager, "aclose", None) or getattr(manager, "close", None)
    if manager is None or not callable(closer):
        return
    try:
        if inspect.iscoroutinefunction(closer):
            driver.run(closer, label="close")
        else:
            driver.run_sync(closer, label="close")
    except Exception:  # closing is best effort; the check's verdict stands
        pass


def timed_out(
    outcome: CheckOutcome, requirement_ids: Iterable[str], message: str, exc: CallTimeout
) -> None:
    """A call did not return in time: a witness against MM-RES-002 (calls return in time)
    and against nothing else, so ``requirement_ids`` are left unjudged. A call not made, or
    cut short, because the check's time ran out or an earlier call hung witnesses nothing."""
    if not isinstance(exc, TimeUp):
        outcome.fail(Failure((TIMELY,), message))
    outcome.leave(requirement_ids, f"not judged: {message}")


def _ids(failure: CheckFailure) -> str:
    return ", ".join(failure.failure.requirement_ids)


@contextmanager
def fast_thread_switching(interval: float = 1e-6) -> Iterator[None]:
    """Make threads switch often while the block runs, so races show up in a short run."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def run_check(check: Check, context: Context) -> CheckOutcome:
    """Run one check in this process and turn what happened into a :class:`CheckOutcome`.

    Requirements the check names but no probe judged count as passed when the check
    returns normally. :func:`memspec.conformance.isolation.run_checks_isolated` runs checks
    the same way in worker processes the target cannot break.
    """
    outcome = context.outcome = CheckOutcome(check=check.name)
    context.deadline = time.monotonic() + context.check_timeout
    try:
        check.run(context)
    except Skip as skip:
        outcome.skip(check.requirements, str(skip))
    except Unjudged as reason:
        outcome.leave(check.requirements, f"{check.name}: {reason}")
    except CheckFailure as failure:
        outcome.fail(failure.failure)
        outcome.leave(check.requirements, f"{check.name} stopped at a failure of {_ids(failure)}")
    except CallTimeout as exc:
        timed_out(outcome, check.requirements, f"{check.name}: {exc}", exc)
    except Exception as exc:
        outcome.fail(
            Failure(
                check.requirements,
                f"{check.name}: the target raised {type(exc).__name__}: {short(str(exc), 300)}",
            )
        )
    else:
        judged = outcome.failed | outcome.passed | set(outcome.skipped) | set(outcome.unjudged)
        outcome.pass_(i for i in check.requirements if i not in judged)
    finally:
        context.close()
        context.deadline = None
    return outcome


def all_checks() -> tuple[Check, ...]:
    """Every check the suite has, in the order they run."""
    from memspec.conformance import (
        concurrency,
        dimensions,
        limits,
        persistence,
        shared,
        state_machine,
        targeted,
        timing,
    )
    from memspec.conformance import vectors as vector_checks

    return (
        *vector_checks.CHECKS,
        *targeted.CHECKS,
        *dimensions.CHECKS,
        *limits.CHECKS,
        *state_machine.CHECKS,
        *timing.CHECKS,
        *concurrency.CHECKS,
        *persistence.CHECKS,
        *shared.CHECKS,
    )
