"""The pytest plugin: ``pytest --memspec-target=module:attr`` certifies a manager in a test run.

Each check of the selected profiles becomes one test item; a failing item names the broken
requirements and carries the reproduction snippet. At the end of the run the plugin prints
the requirement-by-requirement table and the verdict, exactly as ``memspec certify`` would.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from memspec.catalogue import Profile, catalogue
from memspec.conformance.checks import DEPTHS, Check, Context, all_checks, run_check
from memspec.conformance.report import table
from memspec.conformance.results import CheckOutcome
from memspec.conformance.runner import default_profiles, inspect_target, is_conformant, judge
from memspec.conformance.target import TargetError, resolve_target

__all__ = ["ConformanceItem", "describe", "settle"]

_OUTCOMES = pytest.StashKey[list[CheckOutcome]]()
_PROFILES = pytest.StashKey[tuple[Profile, ...]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--memspec-*`` options."""
    group = parser.getgroup("memspec", "memory-manager conformance")
    group.addoption(
        "--memspec-target",
        default=None,
        metavar="MODULE:ATTR",
        help="certify this memory-manager class or factory as part of the test run",
    )
    group.addoption(
        "--memspec-profile",
        action="append",
        default=None,
        choices=[p.value for p in Profile],
        help="profile to certify on (repeatable; default: all the target supports)",
    )
    group.addoption(
        "--memspec-depth",
        default="quick",
        choices=list(DEPTHS),
        help="search depth of the randomised checks (default: quick)",
    )
    group.addoption(
        "--memspec-seed",
        type=int,
        default=None,
        help="seed of the randomised checks (default: random, printed)",
    )


class ConformanceItem(pytest.Item):
    """One conformance check run as a pytest test."""

    def __init__(self, *, check: Check, context: Context, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.context = context

    def runtest(self) -> None:
        outcome = run_check(self.check, self.context)
        self.config.stash.setdefault(_OUTCOMES, []).append(outcome)
        settle(outcome)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return (f"memspec[{self.context.target.name}]", None, f"memspec {self.check.name}")


def settle(outcome: CheckOutcome) -> None:
    """End a test on a check's outcome: fail with its broken requirements, skip when it
    did not apply, return when it passed."""
    if outcome.failures:
        pytest.fail(describe(outcome), pytrace=False)
    if not outcome.passed:
        pytest.skip("; ".join(dict.fromkeys(outcome.skipped.values())))


def describe(outcome: CheckOutcome) -> str:
    """A failed check's requirements, messages and reproduction, for a test report."""
    statements = {r.id: r.statement for r in catalogue().requirements}
    parts = []
    for failure in outcome.failures:
        for requirement_id in failure.requirement_ids:
            parts.append(f"{requirement_id}: {statements.get(requirement_id, '')}")
        parts.append(f"  {failure.message}")
        if failure.reproduction:
            parts.append("reproduce with:\n" + failure.reproduction)
    return "\n".join(parts)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add one item per check when ``--memspec-target`` is given."""
    spec = config.getoption("memspec_target")
    if not spec:
        return
    try:
        target = resolve_target(spec)
        is_async = inspect_target(target)
    except TargetError as exc:
        raise pytest.UsageError(f"--memspec-target: {exc}") from exc
    chosen = config.getoption("memspec_profile")
    profiles = default_profiles(target, is_async) if chosen is None else tuple(map(Profile, chosen))
    config.stash[_PROFILES] = profiles
    seed = config.getoption("memspec_seed")
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    for check in all_checks():
        if check.profile in profiles:
            context = Context(target, is_async, depth=config.getoption("memspec_depth"), seed=seed)
            items.append(
                ConformanceItem.from_parent(
                    session, name=f"memspec[{check.name}]", check=check, context=context
                )
            )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the requirement table and the verdict after a ``--memspec-target`` run."""
    outcomes = config.stash.get(_OUTCOMES, None)
    if not outcomes or _PROFILES not in config.stash:
        return
    profiles = config.stash[_PROFILES]
    requirements = catalogue().select(profiles)
    results = judge(requirements, outcomes)
    verdict = "CONFORMANT" if is_conformant(results, requirements) else "NOT CONFORMANT"
    terminalreporter.section("memspec conformance")
    terminalreporter.write_line(table(results))
    terminalreporter.write_line(
        f"{config.getoption('memspec_target')}: {verdict} on {', '.join(p.value for p in profiles)}"
    )
