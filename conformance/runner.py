"""Certifying a target: choose profiles, run their checks, and judge every requirement."""

from __future__ import annotations

import datetime
import platform
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from memspec import __version__
from memspec.catalogue import Level, Profile, Requirement, Scope, catalogue
from memspec.conformance.checks import (
    DEFAULT_CHECK_TIMEOUT,
    DEPTHS,
    Check,
    Context,
    Depth,
    all_checks,
    close_manager,
    run_check,
)
from memspec.conformance.driver import DEFAULT_CALL_TIMEOUT, CallTimeout, Driver
from memspec.conformance.results import CheckOutcome, Failure
from memspec.conformance.target import Target, TargetError, resolve_target
from memspec.report import CertificationReport, Environment, RequirementResult, Status

__all__ = ["Progress", "certify", "default_profiles", "inspect_target", "judge"]

_NOT_OBSERVABLE = (
    "not observable through store/retrieve/update/delete; implementations check it in their "
    "own tests"
)


@dataclass(frozen=True)
class Progress:
    """A check starting (``outcome is None``) or finished, for progress displays."""

    index: int
    total: int
    check: Check
    outcome: CheckOutcome | None = None
    seconds: float = 0.0


def inspect_target(target: Target, timeout: float = DEFAULT_CALL_TIMEOUT) -> bool:
    """Build one manager to check the target's shape; return whether it is async.

    Raises :class:`TargetError` when the factory cannot be called with ``ttl=`` or builds
    something without the four operations.
    """
    with Driver(timeout=timeout) as driver:
        try:
            manager = driver.run_sync(lambda: target.build(ttl=60), label="build")
        except CallTimeout as exc:
            raise TargetError(f"{target.name}(ttl=60) did not return: {exc}") from exc
        except TypeError as exc:
            raise TargetError(
                f"{target.name} cannot be called with ttl=60 ({exc}); a target must accept "
                "a ttl keyword argument"
            ) from exc
        except Exception as exc:
            first_line = (str(exc).splitlines() or [""])[0]
            raise TargetError(
                f"{target.name}(ttl=60) raised {type(exc).__name__}: {first_line}"
            ) from exc
        target.check_shape(manager)
        driver.attach(manager)
        close_manager(driver)
        return target.is_async(manager)


def default_profiles(target: Target, is_async: bool) -> tuple[Profile, ...]:
    """Every profile the target can be certified on."""
    profiles = [Profile.CORE, Profile.TTL, Profile.ASYNC if is_async else Profile.CONCURRENCY]
    if target.reopen is not None:
        profiles.append(Profile.PERSISTENCE)
    return tuple(profiles)


def judge(
    requirements: Sequence[Requirement], outcomes: Iterable[CheckOutcome]
) -> tuple[RequirementResult, ...]:
    """One verdict per requirement from everything the checks saw."""
    outcomes = list(outcomes)
    wanted = {r.id for r in requirements}
    failures: dict[str, list[tuple[str, Failure]]] = {r.id: [] for r in requirements}
    passed: dict[str, list[str]] = {r.id: [] for r in requirements}
    skipped: dict[str, list[str]] = {r.id: [] for r in requirements}
    for outcome in outcomes:
        for failure in outcome.failures:
            blamed = [i for i in failure.requirement_ids if i in wanted]
            if not blamed:  # found a fault in a profile that was not selected: keep it visible
                blamed = [i for i in outcome.passed | set(outcome.skipped) if i in wanted]
                failure = Failure(
                    tuple(blamed),
                    f"[{', '.join(failure.requirement_ids)}] {failure.message}",
                    failure.reproduction,
                )
            for requirement_id in blamed:
                failures[requirement_id].append((outcome.check, failure))
        for requirement_id in outcome.passed & wanted:
            passed[requirement_id].append(outcome.check)
        for requirement_id, reason in outcome.skipped.items():
            if requirement_id in wanted:
                skipped[requirement_id].append(f"{outcome.check}: {reason}")
    results = []
    for requirement in requirements:
        rid = requirement.id
        checks = tuple(sorted({c for c, _ in failures[rid]} | set(passed[rid])))
        if failures[rid]:
            # Prefer a failure that comes with a reproduction: it is shrunk and runnable.
            check, first = next(
                ((c, f) for c, f in failures[rid] if f.reproduction), failures[rid][0]
            )
            status, message, reproduction = (
                Status.FAILED,
                f"{check}: {first.message}",
                first.reproduction,
            )
        elif passed[rid]:
            status, message, reproduction = Status.PASSED, f"{len(passed[rid])} checks", None
        elif requirement.scope is Scope.IMPLEMENTATION:
            status, message, reproduction = Status.SKIPPED, _NOT_OBSERVABLE, None
        else:
            reasons = "; ".join(dict.fromkeys(skipped[rid])) or "no check exercised it"
            status, message, reproduction = Status.SKIPPED, reasons, None
        results.append(
            RequirementResult(
                id=rid,
                level=requirement.level,
                profile=requirement.profile,
                status=status,
                message=message,
                checks=checks,
                reproduction=reproduction,
            )
        )
    return tuple(results)


def is_conformant(
    results: Iterable[RequirementResult], requirements: Sequence[Requirement]
) -> bool:
    """No MUST failed, and every MUST the suite can observe passed."""
    scope = {r.id: r.scope for r in requirements}
    for result in results:
        if result.level is not Level.MUST:
            continue
        if result.status is Status.FAILED:
            return False
        if result.status is Status.SKIPPED and scope[result.id] is Scope.INTERFACE:
            return False
    return True


def certify(
    target: Target | str,
    *,
    profiles: Iterable[Profile | str] | None = None,
    depth: Depth = "default",
    seed: int | None = None,
    timeout: float = DEFAULT_CALL_TIMEOUT,
    shrink: bool = True,
    check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    progress: Callable[[Progress], None] | None = None,
    checks: Sequence[Check] | None = None,
) -> CertificationReport:
    """Certify ``target`` (a :class:`Target` or ``"module:attr"``) and return the report.

    ``timeout`` bounds each call and ``check_timeout`` each check as a whole.
    ``shrink=False`` skips minimising hypothesis failures: faster, but the reproduction
    snippet is the first failing sequence found rather than the shortest. Raises
    :class:`TargetError` for a target that cannot be certified at all.
    """
    if isinstance(target, str):
        target = resolve_target(target)
    if depth not in DEPTHS:
        raise ValueError(f"depth must be one of {', '.join(DEPTHS)}, not {depth!r}")
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    is_async = inspect_target(target, timeout)
    selected = (
        default_profiles(target, is_async)
        if profiles is None
        else tuple(dict.fromkeys(Profile(p) for p in profiles))
    )
    run_seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    plan = [c for c in (checks if checks is not None else all_checks()) if c.profile in selected]
    outcomes = []
    for index, check in enumerate(plan, start=1):
        if progress:
            progress(Progress(index, len(plan), check))
        began = time.monotonic()
        context = Context(
            target,
            is_async,
            depth=depth,
            seed=run_seed,
            timeout=timeout,
            shrink=shrink,
            check_timeout=check_timeout,
        )
        outcome = run_check(check, context)
        outcomes.append(outcome)
        if progress:
            progress(Progress(index, len(plan), check, outcome, time.monotonic() - began))
    requirements = catalogue().select(selected)
    results = judge(requirements, outcomes)
    return CertificationReport(
        spec_version=catalogue().spec_version,
        suite_version=__version__,
        target=target.name,
        profiles=selected,
        conformant=is_conformant(results, requirements),
        seed=run_seed,
        depth=depth,
        started_at=started_at,
        duration_seconds=round(time.monotonic() - started, 3),
        environment=Environment(
            python=platform.python_version(),
            implementation=platform.python_implementation(),
            platform=platform.platform(),
        ),
        requirements=results,
    )
