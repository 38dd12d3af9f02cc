"""The pytest integration: ``--memspec-target`` and the base class reach the verdict
``memspec certify`` reaches, one test per requirement, with true collection counts."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from memspec.catalogue import Level, Profile, Scope, catalogue
from memspec.conformance import all_checks
from memspec.conformance.cli import main
from memspec.conformance.report import status_word
from memspec.report import CertificationReport

# SHOULD failures are warnings; this project turns warnings into errors, the runs below not.
pytestmark = pytest.mark.filterwarnings("default::memspec.conformance.MemspecWarning")

# Import every check module (and hypothesis with them) now: pytester removes the modules
# first imported during a test, and a second copy of hypothesis's classes breaks the checks.
ALL_CHECKS = all_checks()

REFERENCE = "memspec.reference:InMemoryManager"
NO_CACHE = ("-p", "no:cacheprovider")
FAST = ("--memspec-depth=quick", "--memspec-no-shrink", *NO_CACHE)
CORE = (Profile.CORE,)
ITEM = re.compile(r"^memspec::(MM-[A-Z]+-\d{3})(\[[^ ]*\])? (PASSED|FAILED|SKIPPED|ERROR)")
ROW = re.compile(r"^(MM-[A-Z]+-\d{3}) +(?:MUST|SHOULD) +\S+ +(\S+)")
WARNED = re.compile(r"MemspecWarning: (MM-[A-Z]+-\d{3}) \(SHOULD\)")
SEED = re.compile(r"^memspec: certifying \S+ at depth \w+, seed (\d+) \(--memspec-seed=\1 ")


def expected_items(profiles: Collection[Profile]) -> list[tuple[str, list[str]]]:
    """The requirement tests: every requirement a check of the profiles judges, and every
    one the suite can observe; each with the names of its checks."""
    checks = [c for c in ALL_CHECKS if c.profile in profiles]
    return [
        (r.id, names)
        for r in catalogue().select(profiles)
        for names in [[c.name for c in checks if r.id in c.requirements]]
        if names or r.scope is Scope.INTERFACE
    ]


def item_outcomes(lines: list[str]) -> dict[str, str]:
    """``-v`` output: each requirement test's outcome."""
    return {m.group(1): m.group(3) for m in map(ITEM.match, lines) if m}


def table_statuses(lines: list[str]) -> dict[str, str]:
    """The printed requirement table: each requirement's status word."""
    return {m.group(1): m.group(2) for m in map(ROW.match, lines) if m}


def test_items_are_collected_one_per_requirement_with_the_seed_in_the_header(
    pytester: pytest.Pytester,
) -> None:
    profiles = (Profile.CORE, Profile.TTL)
    items = expected_items(profiles)
    result = pytester.runpytest(
        f"--memspec-target={REFERENCE}",
        "--memspec-profile=core",
        "--memspec-profile=ttl",
        "--memspec-seed=4242",
        "--collect-only",
        *FAST,
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            f"memspec: certifying {REFERENCE} at depth quick, seed 4242 "
            "(--memspec-seed=4242 repeats it)",
            f"collected {len(items)} items",
        ]
    )
    text = result.stdout.str()
    assert "<RequirementItem MM-TTL-002[vector:ttl-boundary," in text
    for requirement_id, checks in items:
        name = f"{requirement_id}[{','.join(checks)}]" if checks else requirement_id
        assert f"<RequirementItem {name}>" in text


@pytest.mark.parametrize("keyword", ["MM-TTL-002", "vector", "SHOULD"])
def test_k_selects_by_requirement_check_or_level_with_true_counts(
    pytester: pytest.Pytester, keyword: str
) -> None:
    profiles = (Profile.CORE, Profile.TTL)
    items = expected_items(profiles)
    level = {r.id: r.level.value for r in catalogue().select(profiles)}
    chosen = [
        rid
        for rid, checks in items
        if keyword.lower() in rid.lower() + " " + " ".join(checks) or keyword == level[rid]
    ]
    assert chosen and len(chosen) < len(items)
    result = pytester.runpytest(
        f"--memspec-target={REFERENCE}",
        "--memspec-profile=core",
        "--memspec-profile=ttl",
        "-k",
        keyword,
        "--collect-only",
        "-q",
        *FAST,
    )
    assert result.ret == pytest.ExitCode.OK
    listed = [line for line in result.outlines if line.startswith("memspec::")]
    assert [line.split("::")[1].split("[")[0] for line in listed] == chosen
    result.stdout.fnmatch_lines(
        [f"{len(chosen)}/{len(items)} tests collected ({len(items) - len(chosen)} deselected)*"]
    )


def test_a_partial_run_settles_the_selected_requirement_without_a_verdict(
    pytester: pytest.Pytester,
) -> None:
    items = expected_items((Profile.TTL,))
    result = pytester.runpytest(
        f"--memspec-target={REFERENCE}", "--memspec-profile=ttl", "-k", "MM-TTL-002", *FAST
    )
    result.assert_outcomes(passed=1, deselected=len(items) - 1)
    result.stdout.fnmatch_lines([f"collected {len(items)} items / {len(items) - 1} deselected*"])
    assert list(table_statuses(result.outlines)) == ["MM-TTL-002"]
    result.stdout.fnmatch_lines(["note: only 1 of * requirement tests were selected*"])
    result.stdout.fnmatch_lines([f"{REFERENCE}: no verdict (a partial run) — 1 passed, *"])


def test_a_should_failure_is_a_warning_and_the_header_seed_is_the_runs(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(
        "--memspec-target=corpus.broken:LogsMemoryAtInfo", "--memspec-profile=core", *FAST
    )
    assert result.ret == pytest.ExitCode.OK
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["warnings"] == 1
    assert WARNED.findall(result.stdout.str()) == ["MM-SEC-002"]
    seed = next(m.group(1) for m in map(SEED.match, result.outlines) if m)
    summary = result.outlines[[i for i, line in enumerate(result.outlines) if " — " in line][-1]]
    assert summary.startswith("corpus.broken:LogsMemoryAtInfo: CONFORMANT on core — ")
    assert " 0 failed, 0 blocked, 1 warning (SHOULD), " in summary
    assert summary.endswith(f"seed {seed}")
    assert table_statuses(result.outlines)["MM-SEC-002"] == "warn"


def test_a_must_failure_fails_its_test_with_the_witness(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--memspec-target=corpus.broken:UpdateCreates",
        "--memspec-profile=core",
        "--memspec-seed=2",
        "-rf",
        *FAST,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*MM-UPD-003 (MUST): `update` of a missing slot does nothing*",
            "corpus.broken:UpdateCreates: NOT CONFORMANT on core — *, seed 2",
            "FAILED memspec::MM-UPD-003[[]*",
        ]
    )


def expected_outcome(result: dict[str, Any]) -> str:
    """The outcome a requirement's test must have, from the command's JSON report."""
    requirement = catalogue().get(result["id"])
    must = requirement.level is Level.MUST
    status = result["status"]
    if must and (
        status in ("failed", "blocked")
        or (status == "skipped" and requirement.scope is Scope.INTERFACE)
    ):
        return "FAILED"
    return "SKIPPED" if status in ("skipped", "blocked") else "PASSED"


@pytest.mark.parametrize(
    "target",
    [
        # A failure that blocks much of the catalogue, a SHOULD warning, and a pass: every
        # status the table and the items can show. The corpus tests compare each of their
        # managers' plugin table with the report the same run wrote.
        "corpus.broken:KeepsLastItem",
        "corpus.broken:LogsMemoryAtInfo",
        "corpus.correct:HashedKeyManager",
    ],
)
def test_the_plugin_reaches_the_commands_verdict(
    target: str,
    pytester: pytest.Pytester,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "report.json"
    argv = ["certify", target, "--profile", "core", "--quick", "--no-shrink", "--seed", "7"]
    status = main([*argv, "-q", "--report", str(path)])
    capsys.readouterr()
    data = json.loads(path.read_text("utf-8"))
    report = CertificationReport.model_validate(data)

    result = pytester.runpytest(
        f"--memspec-target={target}", "--memspec-profile=core", "--memspec-seed=7", "-v", *FAST
    )
    assert (result.ret == pytest.ExitCode.OK) == report.conformant == (status == 0)
    assert result.ret == (pytest.ExitCode.OK if status == 0 else pytest.ExitCode.TESTS_FAILED)

    outcomes = item_outcomes(result.outlines)
    assert list(outcomes) == [rid for rid, _ in expected_items(CORE)]
    expected = {r["id"]: expected_outcome(r) for r in data["requirements"] if r["id"] in outcomes}
    assert outcomes == expected
    warned = {r.id for r in report.warnings}
    assert set(WARNED.findall(result.stdout.str())) == warned
    assert table_statuses(result.outlines) == {r.id: status_word(r) for r in report.requirements}
    verdict = "NOT CONFORMANT" if status else "CONFORMANT"
    result.stdout.fnmatch_lines([f"{target}: {verdict} on core — *, seed 7"])


def test_the_rootdir_is_importable(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(my_manager="from memspec.reference import InMemoryManager as Manager\n")
    result = pytester.runpytest("--memspec-target=my_manager:Manager", "--collect-only", *FAST)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["collected * items"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--memspec-target=no.such:Thing"], "*--memspec-target: cannot import module 'no.such'*"),
        (
            [f"--memspec-target={REFERENCE}", "--memspec-profile=async"],
            "*--memspec-target: * builds a sync manager: certify it on 'concurrency', not 'async'",
        ),
        (
            [f"--memspec-target={REFERENCE}", "--memspec-profile=persistence"],
            "*gives no memspec_reopen(manager)*",
        ),
        ([f"--memspec-target={REFERENCE}", "--memspec-max-time=0"], "*--memspec-max-time:*"),
        ([f"--memspec-target={REFERENCE}", "--memspec-max-memory=-1"], "*--memspec-max-memory:*"),
    ],
)
def test_a_target_that_cannot_be_certified_as_given_is_a_usage_error(
    pytester: pytest.Pytester, options: list[str], message: str
) -> None:
    result = pytester.runpytest(*options, *NO_CACHE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


BASE_CLASS_TESTS = """
import pytest
from corpus.broken import KeepsLastItem, LogsMemoryAtInfo
from memspec.conformance import MemoryManagerConformance
from memspec.reference import AsyncInMemoryManager, InMemoryManager


class Fast(MemoryManagerConformance):
    memspec_depth = "quick"
    memspec_shrink = False


class TestSync(Fast):
    @pytest.fixture
    def memory_manager_factory(self):
        return lambda ttl=43200, clock=None: InMemoryManager(ttl=ttl, clock=clock)


class TestAsync(Fast):
    memspec_profiles = ("core", "ttl", "async")

    @pytest.fixture
    def memory_manager_factory(self):
        return lambda ttl=43200, clock=None: AsyncInMemoryManager(ttl=ttl, clock=clock)


class TestBroken(Fast):
    memspec_profiles = ("core",)

    @pytest.fixture
    def memory_manager_factory(self):
        return KeepsLastItem


class TestWarns(Fast):
    memspec_profiles = ("core",)

    @pytest.fixture
    def memory_manager_factory(self):
        return LogsMemoryAtInfo
"""

BASE_ITEM = re.compile(
    r"^test_mine\.py::(Test\w+)::test_conformance\[(MM-[A-Z]+-\d{3})[^ ]*\] "
    r"(PASSED|FAILED|SKIPPED|ERROR)"
)


def test_the_base_class_serves_sync_and_async_and_reaches_the_commands_verdict(
    pytester: pytest.Pytester, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "report.json"
    argv = ["certify", "corpus.broken:KeepsLastItem", "--profile", "core", "--quick"]
    main([*argv, "--no-shrink", "--seed", "0", "-q", "--report", str(path)])
    capsys.readouterr()
    data = json.loads(path.read_text("utf-8"))

    pytester.makepyfile(test_mine=BASE_CLASS_TESTS)
    result = pytester.runpytest("-v", *NO_CACHE)
    seen: dict[str, dict[str, str]] = {}
    for match in map(BASE_ITEM.match, result.outlines):
        if match:
            seen.setdefault(match.group(1), {})[match.group(2)] = match.group(3)
    sync = [rid for rid, _ in expected_items((Profile.CORE, Profile.TTL, Profile.CONCURRENCY))]
    async_ = [rid for rid, _ in expected_items((Profile.CORE, Profile.TTL, Profile.ASYNC))]
    core = [rid for rid, _ in expected_items(CORE)]
    assert {name: list(tests) for name, tests in seen.items()} == {
        "TestSync": sync,
        "TestAsync": async_,
        "TestBroken": core,
        "TestWarns": core,
    }
    for name in ("TestSync", "TestAsync", "TestWarns"):
        assert "FAILED" not in seen[name].values(), name
    expected = {r["id"]: expected_outcome(r) for r in data["requirements"] if r["id"] in core}
    assert seen["TestBroken"] == expected
    assert "FAILED" in seen["TestBroken"].values()
    blocked = [r for r in data["requirements"] if r["status"] == "blocked" and r["level"] == "MUST"]
    for requirement in blocked:
        blockers = ", ".join(requirement["blocked_by"])
        result.stdout.fnmatch_lines(
            [f"{requirement['id']} (MUST): *", f"blocked by {blockers}: it cannot be judged while*"]
        )
    assert WARNED.findall(result.stdout.str()) == ["MM-SEC-002"]
