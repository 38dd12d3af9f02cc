"""Certifying a target: choose profiles, run their checks, and judge every requirement."""

from __future__ import annotations

import datetime
import platform
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

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
)
from memspec.conformance.driver import DEFAULT_CALL_TIMEOUT, CallTimeout, Driver
from memspec.conformance.isolation import (
    DEFAULT_MAX_MEMORY,
    WorkerFailed,
    call_isolated,
    run_checks_isolated,
)
from memspec.conformance.results import CheckOutcome, Failure
from memspec.conformance.simpler import ITEM_COUNT_RULES, one_item_reproduction, one_item_target
from memspec.conformance.target import Target, TargetError, resolve_target
from memspec.report import (
    CertificationReport,
    Environment,
    MeasuredLimits,
    RequirementResult,
    Status,
    docs_base_url,
)

__all__ = [
    "Progress",
    "certify",
    "default_profiles",
    "inspect_target",
    "judge",
    "measured_limits",
]

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
    """Build one manager, in a worker process, to check the target's shape; return whether
    it is async.

    Raises :class:`TargetError` when the factory cannot be called with ``ttl=``, builds
    something without the four operations, or ends the worker process.
    """

    def inspect() -> tuple[str, bool | str]:
        try:
            return "ok", _inspect(target, timeout)
        except TargetError as exc:
            return "target-error", str(exc)

    try:
        kind, value = call_isolated(inspect, timeout=timeout + 30)[0]
    except WorkerFailed as exc:
        raise TargetError(f"building {target.name}(ttl=60) {exc}") from None
    if kind == "target-error":
        raise TargetError(str(value))
    return bool(value)


def _inspect(target: Target, timeout: float) -> bool:
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


def _check_applicable(target: Target, is_async: bool, profiles: Sequence[Profile]) -> None:
    """``TargetError`` for a profile this target cannot be certified on as given."""
    kind = "async" if is_async else "sync"
    if Profile.ASYNC in profiles and not is_async:
        raise TargetError(
            f"{target.name} builds a sync manager: certify it on 'concurrency', not 'async'"
        )
    if Profile.CONCURRENCY in profiles and is_async:
        raise TargetError(
            f"{target.name} builds an {kind} manager: certify it on 'async', not 'concurrency'"
        )
    if Profile.PERSISTENCE in profiles and target.reopen is None:
        raise TargetError(
            f"{target.name} gives no memspec_reopen(manager) to open a second manager on the "
            "same backend, so it cannot be certified on 'persistence'"
        )


def judge(
    requirements: Sequence[Requirement], outcomes: Iterable[CheckOutcome]
) -> tuple[RequirementResult, ...]:
    """One verdict per requirement from everything the checks saw.

    A requirement with a witness against it fails; one a check saw hold passes; either is
    *blocked* instead while one of its prerequisites (from the catalogue, followed through
    other requirements) failed, since its own observations cannot be trusted then.
    """
    outcomes = list(outcomes)
    wanted = {r.id for r in requirements}
    failures: dict[str, list[tuple[str, Failure]]] = {r.id: [] for r in requirements}
    passed: dict[str, list[str]] = {r.id: [] for r in requirements}
    skipped: dict[str, list[str]] = {r.id: [] for r in requirements}
    unjudged: dict[str, list[str]] = {r.id: [] for r in requirements}
    for outcome in outcomes:
        for failure in outcome.failures:
            for requirement_id in failure.requirement_ids:
                if requirement_id in wanted:
                    failures[requirement_id].append((outcome.check, failure))
        for requirement_id in outcome.passed & wanted:
            passed[requirement_id].append(outcome.check)
        for requirement_id, reason in outcome.skipped.items():
            if requirement_id in wanted:
                skipped[requirement_id].append(f"{outcome.check}: {reason}")
        for requirement_id, reason in outcome.unjudged.items():
            if requirement_id in wanted:
                unjudged[requirement_id].append(f"{outcome.check}: {reason}")
    failed = {rid for rid, seen in failures.items() if seen}
    book = catalogue()
    results = []
    for requirement in requirements:
        rid = requirement.id
        checks = tuple(sorted({c for c, _ in failures[rid]} | set(passed[rid])))
        ancestors = book.prerequisites_of(rid) if rid in book else ()
        roots = tuple(
            p
            for p in ancestors
            if p in failed and not any(q in failed for q in book.prerequisites_of(p))
        )
        reproduction = output = None
        applies = failures[rid] or passed[rid] or unjudged[rid] or not skipped[rid]
        if roots and applies and requirement.scope is Scope.INTERFACE:
            status = Status.BLOCKED
            message = f"blocked: cannot be judged while {', '.join(roots)} fails"
        elif failures[rid]:
            # Prefer a failure that comes with a reproduction: it is minimal and runnable.
            check, first = min(
                failures[rid], key=lambda pair: (pair[1].reproduction is None, pair[0])
            )
            status, message = Status.FAILED, f"{check}: {first.message}"
            reproduction, output = first.reproduction, first.output
        elif passed[rid]:
            status, message = Status.PASSED, _checks_word(len(passed[rid]))
        elif requirement.scope is Scope.IMPLEMENTATION:
            # Judged only where the target gives a hook; otherwise why not, or not observable.
            status = Status.SKIPPED
            message = "; ".join(dict.fromkeys(skipped[rid])) or _NOT_OBSERVABLE
        else:
            reasons = unjudged[rid] + skipped[rid]  # what stopped a check says most
            status = Status.SKIPPED
            message = "; ".join(dict.fromkeys(reasons)) or "no check exercised it"
        results.append(
            RequirementResult(
                id=rid,
                level=requirement.level,
                profile=requirement.profile,
                status=status,
                message=message,
                checks=checks,
                blocked_by=roots if status is Status.BLOCKED else (),
                reproduction=reproduction,
                output=output,
            )
        )
    return tuple(results)


#: Requirements a one-item run cannot judge: what it hides is their subject.
_ONE_ITEM_BLIND = ITEM_COUNT_RULES | {"MM-MODEL-002", "MM-LIMIT-005"}


def _collect(
    plan: Sequence[Check], events: Iterable[Any], progress: Callable[[Progress], None] | None
) -> list[CheckOutcome]:
    """The outcomes of ``plan``'s checks as their events arrive, reported to ``progress``."""
    outcomes: list[CheckOutcome] = []
    for event in events:
        if event.outcome is not None:
            outcomes.append(event.outcome)
        if progress:
            check = plan[event.index]
            progress(Progress(event.index + 1, len(plan), check, event.outcome, event.seconds))
    return outcomes


def _judge_blocked_with_one_item(
    results: tuple[RequirementResult, ...],
    requirements: Sequence[Requirement],
    plan: Sequence[Check],
    run: Callable[[Sequence[Check]], list[CheckOutcome]],
) -> tuple[RequirementResult, ...]:
    """When a write of several items is what fails (``MM-STORE-002``, ``MM-UPD-002``), judge
    the requirements blocked behind it again, running their checks (with ``run``) on the
    target seen through one-item writes (:mod:`memspec.conformance.simpler`): a requirement
    stays blocked only when that run cannot judge it either, and its message says so. The
    measured limits stay as the first run found them."""
    because = sorted(
        r.id for r in results if r.status is Status.FAILED and r.id in ITEM_COUNT_RULES
    )
    blocked = {r.id for r in results if r.status is Status.BLOCKED} - _ONE_ITEM_BLIND
    if not because or not blocked:
        return results
    tag = " [one item per write]"
    wanted = blocked | set(because)  # the cause too: the run must show it worked around it
    outcomes = run([replace(c, name=c.name + tag) for c in plan if wanted & set(c.requirements)])
    second = {r.id: r for r in judge(requirements, outcomes)}
    why = " and ".join(because)
    if any(second[c].status is not Status.PASSED for c in because if c in second):
        # The fault shows with one item per write too (an update that appends, say): that
        # run cannot stand for the manager any better than the first.
        still = "; a run with one item per write saw it fail too, so could not judge it either"
        return tuple(
            r.model_copy(update={"message": r.message + still}) if r.status is Status.BLOCKED else r
            for r in results
        )
    merged = []
    for result in results:
        again = second.get(result.id)
        if (
            result.id in blocked
            and again is not None
            and again.status in (Status.PASSED, Status.FAILED)
        ):
            reproduction = again.reproduction
            if reproduction:
                reproduction = one_item_reproduction(reproduction, f"{why} fails")
            merged.append(
                again.model_copy(
                    update={
                        "message": f"judged with one item per write, since {why} fails: "
                        + again.message,
                        "reproduction": reproduction,
                    }
                )
            )
        elif result.status is Status.BLOCKED:
            merged.append(
                result.model_copy(
                    update={
                        "message": result.message
                        + "; a run with one item per write could not judge it either"
                    }
                )
            )
        else:
            merged.append(result)
    return tuple(merged)


def measured_limits(
    target: Target, outcomes: Iterable[CheckOutcome], results: Iterable[RequirementResult]
) -> MeasuredLimits:
    """The target's bounds, from what the checks measured (:attr:`CheckOutcome.limits`),
    its signature (an injectable clock) and, when it gives a reopen hook, whether a second
    manager saw the first one's writes (``MM-DUR-001``)."""
    found: dict[str, object] = {"clock": target.accepts_clock}
    for outcome in outcomes:
        found.update(outcome.limits)
    if target.reopen is not None:
        verdict = {r.id: r.status for r in results}.get("MM-DUR-001")
        if verdict in (Status.PASSED, Status.FAILED):
            found["reopen"] = verdict is Status.PASSED
    return MeasuredLimits.model_validate(found)


def _checks_word(count: int) -> str:
    return f"{count} check{'s' if count != 1 else ''}"


def is_conformant(
    results: Iterable[RequirementResult], requirements: Sequence[Requirement]
) -> bool:
    """No MUST failed, and every MUST the suite can observe passed."""
    scope = {r.id: r.scope for r in requirements}
    for result in results:
        if result.level is not Level.MUST:
            continue
        if result.status in (Status.FAILED, Status.BLOCKED):
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
    max_time: float | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
    docs_url: str | None = None,
) -> CertificationReport:
    """Certify ``target`` (a :class:`Target` or ``"module:attr"``) and return the report.

    ``timeout`` bounds each call, ``check_timeout`` each check as a whole and ``max_time``
    the whole run (checks not started by then are not run, so their MUSTs cannot pass).
    The checks run in forked worker processes, each check limited to ``max_memory`` more
    bytes of address space, so nothing the target does can stop the run or fake its verdict.
    ``shrink=False`` skips minimising hypothesis failures: faster, but the reproduction
    snippet is the first failing sequence found rather than the shortest. Raises
    :class:`TargetError` for a target that cannot be certified at all. Every requirement of
    the report links to its text on the documentation site at ``docs_url`` (default
    ``$MEMSPEC_DOCS_URL`` or :data:`~memspec.report.DEFAULT_DOCS_URL`).
    """
    docs_base_url(docs_url)  # a bad address fails before the run, not after it
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
    _check_applicable(target, is_async, selected)
    run_seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    plan = [c for c in (checks if checks is not None else all_checks()) if c.profile in selected]
    notes: list[str] = []
    deadline = None if max_time is None else started + max_time

    def run(checks: Sequence[Check], judged: Target = target) -> list[CheckOutcome]:
        """Run ``checks`` on ``judged`` in workers and collect their outcomes."""

        def context_for(check: Check) -> Context:
            return Context(
                judged,
                is_async,
                depth=depth,
                seed=run_seed,
                timeout=timeout,
                shrink=shrink,
                check_timeout=check_timeout,
            )

        events = run_checks_isolated(
            checks, context_for, check_timeout=check_timeout, memory=max_memory, deadline=deadline
        )
        return _collect(checks, events, progress)

    outcomes = run(plan)
    left = plan[len(outcomes) :]
    if left:
        notes.append(
            f"the run reached --max-time ({max_time:g} s) with {len(left)} of "
            f"{len(plan)} checks not run"
        )
        for skipped_check in left:
            outcome = CheckOutcome(check=skipped_check.name)
            outcome.skip(skipped_check.requirements, "not run: the run reached its time limit")
            outcomes.append(outcome)
    requirements = catalogue().select(selected)
    results = judge(requirements, outcomes)
    simpler = one_item_target(target)
    results = _judge_blocked_with_one_item(
        results, requirements, plan, lambda later: run(later, simpler)
    )
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
        notes=tuple(notes),
        limits=measured_limits(target, outcomes, results),
    ).with_links(docs_url)
