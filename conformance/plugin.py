"""The pytest plugin: ``pytest --memspec-target=module:attr`` certifies a manager in a test run.

The run is the same as ``memspec certify``'s: the same checks, in forked workers, the
same judging, the same verdict. Each requirement of the selected profiles that a check judges
becomes one test item, named after the requirement and the checks that judge it, e.g.
``memspec::MM-TTL-002[vector:ttl-boundary,timing:real-time]``, so ``-k MM-TTL-002`` or
``-k vector`` select the usual way. The checks run once, when the first selected item is set
up (only those the selected items and their prerequisites need), and every item settles from
the judged results:

- a passed requirement passes;
- a failed MUST fails with the witness, the reproduction and the target's output;
- a failed SHOULD passes with a :class:`MemspecWarning` (it is listed in the warnings
  summary, as in the report's ``warnings``);
- a blocked MUST fails with what blocked it, a blocked SHOULD is skipped;
- a skipped requirement is skipped, except a MUST the suite can observe: not judging it is
  not conformance, so it fails.

The pytest header shows the seed; at the end of the run the plugin prints the requirement
table, the notes and the verdict with the functions ``memspec certify`` prints them with, and
``--memspec-report=FILE.json`` writes the JSON report (and each failure's reproduction
beside it) as ``memspec certify --report`` does.
"""

from __future__ import annotations

import os
import random
import sys
import textwrap
import warnings
from collections.abc import Collection, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from memspec.catalogue import Level, Profile, Scope, catalogue
from memspec.conformance.checks import DEFAULT_CHECK_TIMEOUT, DEPTHS, Check, Depth, all_checks
from memspec.conformance.cli import mebibytes, positive_seconds, write_report
from memspec.conformance.driver import DEFAULT_CALL_TIMEOUT
from memspec.conformance.isolation import DEFAULT_MAX_MEMORY
from memspec.conformance.report import limits, notes, output_excerpt, summary, table, tally
from memspec.conformance.runner import certify
from memspec.conformance.target import Target, TargetError, resolve_target
from memspec.report import CertificationReport, RequirementResult, Status

__all__ = [
    "Certification",
    "ConformanceCollector",
    "MemspecWarning",
    "RequirementItem",
    "Settings",
    "describe",
    "item_name",
    "requirement_tests",
    "settle",
]

_SETTINGS = pytest.StashKey["Settings"]()
_CERTIFICATION = pytest.StashKey["Certification"]()

#: Lines of a failure's captured target output a failed test shows (its last ones).
_OUTPUT_LINES = 20


class MemspecWarning(UserWarning):
    """A SHOULD requirement the manager breaks: reported, but not a failed test."""


@dataclass(frozen=True)
class Settings:
    """How to run the checks: everything :func:`certify` takes besides target and profiles."""

    depth: Depth = "default"
    seed: int = 0
    timeout: float = DEFAULT_CALL_TIMEOUT
    check_timeout: float = DEFAULT_CHECK_TIMEOUT
    shrink: bool = True
    max_time: float | None = None
    max_memory: int = DEFAULT_MAX_MEMORY


def requirement_tests(profiles: Collection[Profile]) -> list[tuple[str, tuple[str, ...]]]:
    """The requirements of ``profiles`` that become tests, each with the names of the checks
    that judge it, in catalogue order.

    That is every requirement a check of the profiles judges, and every one the suite can
    observe even if no check does (it cannot pass then, so it must not go unseen); the
    ones only implementations can check are left to the table.
    """
    checks = [c for c in all_checks() if c.profile in profiles]
    tests = []
    for requirement in catalogue().select(profiles):
        names = tuple(c.name for c in checks if requirement.id in c.requirements)
        if names or requirement.scope is Scope.INTERFACE:
            tests.append((requirement.id, names))
    return tests


def item_name(requirement_id: str, checks: Sequence[str], *, sep: str = "[") -> str:
    """``MM-TTL-002[vector:ttl-boundary,timing:real-time]`` (or with ``sep=":"``,
    ``MM-TTL-002:vector:ttl-boundary,timing:real-time``, for a parametrised test's ID)."""
    if not checks:
        return requirement_id
    names = ",".join(checks)
    return f"{requirement_id}[{names}]" if sep == "[" else f"{requirement_id}{sep}{names}"


def _checks_needed(profiles: Collection[Profile], wanted: Iterable[str]) -> tuple[Check, ...]:
    """The checks of ``profiles`` that judge ``wanted`` or any of their prerequisites."""
    book = catalogue()
    needed = set()
    for requirement_id in wanted:
        needed.add(requirement_id)
        if requirement_id in book:
            needed.update(book.prerequisites_of(requirement_id))
    return tuple(
        c for c in all_checks() if c.profile in profiles and needed.intersection(c.requirements)
    )


@dataclass
class Certification:
    """One certification run shared by the tests of one target: the checks run once, on the
    first :meth:`run`, and every test settles from the report."""

    target: Target
    profiles: tuple[Profile, ...]
    settings: Settings
    tests: tuple[str, ...]
    """The requirement IDs that are tests."""
    report: CertificationReport | None = None
    wanted: frozenset[str] = frozenset()
    """The requirement IDs of the tests selected to run."""
    error: str | None = None
    _results: dict[str, RequirementResult] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        """Whether only some of the tests were selected (``-k``, ``-m``, ``--lf``, IDs)."""
        return self.wanted != frozenset(self.tests)

    def run(self, wanted: Iterable[str], config: pytest.Config) -> CertificationReport:
        """Certify the target, once: on every check of the profiles when all the tests are
        selected, exactly as ``memspec certify`` does, or else on the checks the selected
        tests and their prerequisites need."""
        if self.error is not None:
            pytest.fail(self.error, pytrace=False)
        if self.report is None:
            self.wanted = frozenset(wanted)
            checks = _checks_needed(self.profiles, self.wanted) if self.partial else None
            try:
                with _uncaptured(config):
                    self.report = certify(
                        self.target,
                        profiles=self.profiles,
                        checks=checks,
                        depth=self.settings.depth,
                        seed=self.settings.seed,
                        timeout=self.settings.timeout,
                        check_timeout=self.settings.check_timeout,
                        shrink=self.settings.shrink,
                        max_time=self.settings.max_time,
                        max_memory=self.settings.max_memory,
                    )
            except TargetError as exc:
                self.error = f"{self.target.name} cannot be certified: {exc}"
                pytest.fail(self.error, pytrace=False)
            self._results = {r.id: r for r in self.report.requirements}
        return self.report

    def result(self, requirement_id: str) -> RequirementResult:
        """The judged result of one requirement (after :meth:`run`)."""
        return self._results[requirement_id]

    def shown(self) -> CertificationReport | None:
        """The report to print: all of it, or only the selected requirements of a partial
        run, with a note saying so."""
        report = self.report
        if report is None or not self.partial:
            return report
        kept = tuple(r for r in report.requirements if r.id in self.wanted)
        note = (
            f"only {len(kept)} of {len(self.tests)} requirement tests were selected: "
            "the table covers them alone and there is no verdict on the profiles"
        )
        return report.model_copy(
            update={"requirements": kept, "notes": (*report.notes, note), "conformant": False}
        )


@contextmanager
def _uncaptured(config: pytest.Config) -> Iterator[None]:
    """Suspend pytest's output capture while the checks run.

    The checks' workers capture what the target writes to file descriptors 1 and 2 and
    attaches it to the check's failures; pytest's capture would otherwise catch it first.
    """
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        yield
        return
    with capture.global_and_fixture_disabled():
        yield


def describe(result: RequirementResult) -> str:
    """A failed or blocked requirement for a test report: its statement, the witness, the
    reproduction and what the target logged or printed."""
    book = catalogue()
    statement = book.get(result.id).statement if result.id in book else ""
    parts = [f"{result.id} ({result.level.value}): {statement}"]
    if result.status is Status.BLOCKED:
        parts.append(
            f"blocked by {', '.join(result.blocked_by)}: it cannot be judged while "
            f"{'that prerequisite fails' if len(result.blocked_by) == 1 else 'those fail'}"
        )
        return "\n".join(parts)
    parts.append(result.message)
    if result.reproduction:
        parts += ["reproduce with this program:", result.reproduction.rstrip()]
    if result.output and result.output.strip():
        head, *lines = output_excerpt(result.output, 200, _OUTPUT_LINES)
        parts += [head, textwrap.indent("\n".join(lines), "    ")]
    return "\n".join(parts)


def settle(result: RequirementResult) -> None:
    """End a requirement's test on its judged result, the way the verdict counts it."""
    book = catalogue()
    scope = book.get(result.id).scope if result.id in book else Scope.INTERFACE
    must = result.level is Level.MUST
    if result.status is Status.PASSED:
        return
    if result.status is Status.FAILED:
        if must:
            pytest.fail(describe(result), pytrace=False)
        warnings.warn(MemspecWarning(f"{result.id} (SHOULD) {result.message}"), stacklevel=2)
        return
    if result.status is Status.BLOCKED:
        if must:
            pytest.fail(describe(result), pytrace=False)
        pytest.skip(f"blocked by {', '.join(result.blocked_by)}")
    if must and scope is Scope.INTERFACE:
        pytest.fail(
            f"{result.id} (MUST) was not judged: {result.message}. A MUST the suite can "
            "observe has to be seen to hold for the manager to be conformant.",
            pytrace=False,
        )
    pytest.skip(result.message)


class RequirementItem(pytest.Item):
    """One requirement's verdict, as a pytest test."""

    parent: ConformanceCollector

    def __init__(self, *, requirement_id: str, checks: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requirement_id = requirement_id
        self.checks = checks
        requirement = catalogue().get(requirement_id)
        self.extra_keyword_matches.update({requirement.level.value, requirement.profile.value})

    def runtest(self) -> None:
        settle(self.parent.certification.result(self.requirement_id))

    def reportinfo(self) -> tuple[str, int | None, str]:
        level = catalogue().get(self.requirement_id).level.value
        return (self.parent.location_label, None, f"{self.requirement_id} ({level})")


class ConformanceCollector(pytest.Collector):
    """The requirement tests of ``--memspec-target``; setting it up runs the checks."""

    def __init__(self, *, certification: Certification, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.certification = certification
        self.location_label = f"memspec[{certification.target.name}]"
        self.extra_keyword_matches.add(certification.target.name)

    def collect(self) -> Iterable[pytest.Item]:
        for requirement_id, checks in requirement_tests(self.certification.profiles):
            yield RequirementItem.from_parent(
                self,
                name=item_name(requirement_id, checks),
                requirement_id=requirement_id,
                checks=checks,
            )

    def setup(self) -> None:
        selected = [
            item.requirement_id
            for item in self.session.items
            if isinstance(item, RequirementItem) and item.parent is self
        ]
        self.certification.run(selected, self.config)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--memspec-*`` options (the same as ``memspec certify``'s)."""
    group = parser.getgroup("memspec", "memory-manager conformance")
    group.addoption(
        "--memspec-target",
        default=None,
        metavar="MODULE:ATTR",
        help="certify this memory-manager class or factory as part of the test run (the "
        "rootdir and the current directory are importable)",
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
        default="default",
        choices=list(DEPTHS),
        help="search depth of the randomised checks (default: default)",
    )
    group.addoption(
        "--memspec-seed",
        type=int,
        default=None,
        help="seed of the randomised checks (default: random, shown in the header)",
    )
    group.addoption(
        "--memspec-timeout",
        type=positive_seconds,
        default=DEFAULT_CALL_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of one manager call (default {DEFAULT_CALL_TIMEOUT:g})",
    )
    group.addoption(
        "--memspec-check-timeout",
        type=positive_seconds,
        default=DEFAULT_CHECK_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of one whole check (default {DEFAULT_CHECK_TIMEOUT:g})",
    )
    group.addoption(
        "--memspec-max-time",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="time limit of all the checks together (default: none)",
    )
    group.addoption(
        "--memspec-max-memory",
        type=mebibytes,
        default=DEFAULT_MAX_MEMORY,
        metavar="MIB",
        help="address space each check may add to its worker process, in MiB "
        f"(default {DEFAULT_MAX_MEMORY >> 20})",
    )
    group.addoption(
        "--memspec-report",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="write the JSON report, and every failure's reproduction to FILE.repro/ID.py",
    )
    group.addoption(
        "--memspec-no-shrink",
        dest="memspec_shrink",
        action="store_false",
        default=True,
        help="do not minimise failures found by hypothesis (faster)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Fix the run's settings, the seed among them, when ``--memspec-target`` is given."""
    if not config.getoption("memspec_target", None):
        return
    seed = config.getoption("memspec_seed")
    config.stash[_SETTINGS] = Settings(
        depth=config.getoption("memspec_depth"),
        seed=random.SystemRandom().randrange(2**32) if seed is None else seed,
        timeout=config.getoption("memspec_timeout"),
        check_timeout=config.getoption("memspec_check_timeout"),
        shrink=config.getoption("memspec_shrink"),
        max_time=config.getoption("memspec_max_time"),
        max_memory=config.getoption("memspec_max_memory"),
    )


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the target and the seed, so that a run can be repeated."""
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        return None
    return [
        f"memspec: certifying {config.getoption('memspec_target')} at depth {settings.depth}, "
        f"seed {settings.seed} (--memspec-seed={settings.seed} repeats it)"
    ]


def _importable(config: pytest.Config) -> None:
    """Make the rootdir and the current directory importable, as ``memspec certify`` does."""
    for directory in (str(config.rootpath), os.getcwd()):
        if directory not in sys.path:
            sys.path.insert(0, directory)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Resolve ``--memspec-target`` and its profiles before collecting, as a usage error
    when it cannot be certified as given."""
    config = session.config
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        return
    spec = config.getoption("memspec_target")
    _importable(config)
    try:
        target = resolve_target(spec)
        # Certifying on no checks builds one manager and settles the profiles exactly as
        # the real run will: the target's own, or the chosen ones if the target takes them.
        planned = certify(
            target,
            profiles=config.getoption("memspec_profile"),
            checks=(),
            timeout=settings.timeout,
            max_memory=settings.max_memory,
        )
    except TargetError as exc:
        raise pytest.UsageError(f"--memspec-target: {exc}") from exc
    tests = tuple(rid for rid, _ in requirement_tests(planned.profiles))
    config.stash[_CERTIFICATION] = Certification(target, planned.profiles, settings, tests)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Add the requirement tests to what the session collects."""
    report = yield
    certification = collector.config.stash.get(_CERTIFICATION, None)
    if isinstance(collector, pytest.Session) and certification is not None and report.passed:
        assert isinstance(report.result, list)
        # Named like a path so that its items read memspec::MM-TTL-002[...], not ::memspec::...
        report.result.append(
            ConformanceCollector.from_parent(
                collector, name="memspec", nodeid="memspec", certification=certification
            )
        )
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the requirement table, the notes and the verdict, as ``memspec certify`` does."""
    certification = config.stash.get(_CERTIFICATION, None)
    report = None if certification is None else certification.shown()
    if certification is None or report is None:
        return
    terminalreporter.section("memspec conformance")
    terminalreporter.write_line(table(report.requirements))
    for line in [*limits(report), *notes(report)]:
        terminalreporter.write_line(line)
    if certification.partial:
        terminalreporter.write_line(
            f"{report.target}: no verdict (a partial run) — {tally(report)}, seed {report.seed}"
        )
    else:
        terminalreporter.write_line(summary(report))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write ``--memspec-report``, once the checks have run (whatever the output options)."""
    certification = session.config.stash.get(_CERTIFICATION, None)
    path = session.config.getoption("memspec_report", None)
    report = None if certification is None else certification.shown()
    if path is None or report is None:
        return
    write_report(report, path)
