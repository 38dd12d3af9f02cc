"""The report's views: the terminal table wraps and never cuts, the summary counts right, the
Markdown report says what blocked what, and a failure's target output stays with it."""

from __future__ import annotations

import re

import pytest
from memspec.catalogue import Level, Profile, catalogue
from memspec.conformance.report import limits, markdown, notes, summary, table, tally
from memspec.report import (
    Bound,
    CertificationReport,
    Environment,
    MeasuredLimits,
    RequirementResult,
    Status,
)

DETAILS_AT = 43  # where the details column starts
LONG = (
    "vector:store-retrieve: store-retrieve step 2 (retrieve {'conversation_id': 'c1', "
    "'memory_type': 'WORKING_MEMORY'}): expected items ['first', 'second', 'third'], got "
    "['third'] after store of three items into a fresh slot"
)


def result(
    rid: str, status: Status, message: str = "1 check", **extra: object
) -> RequirementResult:
    requirement = catalogue().get(rid)
    return RequirementResult(
        id=rid,
        level=requirement.level,
        profile=requirement.profile,
        status=status,
        message=message,
        **extra,
    )


def report(*results: RequirementResult, notes: tuple[str, ...] = ()) -> CertificationReport:
    return CertificationReport(
        spec_version=catalogue().spec_version,
        suite_version="0.1.0",
        target="pkg.mod:Manager",
        profiles=(Profile.CORE,),
        conformant=False,
        seed=11,
        depth="quick",
        started_at="2024-01-01T00:00:00+00:00",
        duration_seconds=1.25,
        environment=Environment(python="3.11", implementation="CPython", platform="Linux"),
        requirements=results,
        notes=notes,
    )


FAILED = result("MM-RETR-001", Status.FAILED, LONG, reproduction="assert False\n")
BLOCKED = result(
    "MM-STORE-002",
    Status.BLOCKED,
    "blocked: cannot be judged while MM-RETR-001 fails",
    blocked_by=("MM-RETR-001",),
)
WARNED = result("MM-SEC-002", Status.FAILED, "targeted:quiet-logs: logged memory content")
SKIPPED = result("MM-EVICT-001", Status.SKIPPED, "not observable")
PASSED = result("MM-STORE-001", Status.PASSED, "2 checks")


def rows(text: str) -> dict[str, list[str]]:
    """Each requirement's table lines: its row and the continuation lines after it."""
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines()[1:]:
        match = re.match(r"MM-[A-Z]+-\d{3}", line)
        if match:
            current = match.group()
            found[current] = [line]
        else:
            assert current is not None
            found[current].append(line)
    return found


def details_text(lines: list[str], at: int = DETAILS_AT) -> str:
    """The details column's text, white space removed: what wrapping must not change."""
    return "".join("".join(line[at:].split()) for line in lines)


SOLID = "".join(LONG.split())


@pytest.mark.parametrize("width", [64, 80, 132])
def test_table_wraps_details_to_the_width_and_cuts_nothing(width: int) -> None:
    text = table([PASSED, FAILED, BLOCKED, WARNED, SKIPPED], width=width)
    assert all(len(line) <= width for line in text.splitlines())
    failed = rows(text)["MM-RETR-001"]
    assert len(failed) > 1
    assert all(line.startswith(" " * DETAILS_AT) for line in failed[1:])
    assert details_text(failed) == SOLID
    assert "..." not in text


def test_table_takes_the_terminal_width_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    narrow = table([FAILED])
    assert max(len(line) for line in narrow.splitlines()) <= 70
    assert narrow == table([FAILED], width=70)
    monkeypatch.setenv("COLUMNS", "300")
    assert len(table([FAILED]).splitlines()) == 2, "one header and one row when it fits"


def test_a_narrow_terminal_gets_the_details_under_each_row() -> None:
    text = table([FAILED, PASSED], width=50)
    assert all(len(line) <= 50 for line in text.splitlines())
    failed = rows(text)["MM-RETR-001"]
    assert failed[0].split() == ["MM-RETR-001", "MUST", "core", "FAIL"]
    assert all(line.startswith("    ") for line in failed[1:])
    assert details_text(failed[1:], 0) == SOLID


def test_table_marks_blocked_warned_and_failed_rows() -> None:
    found = rows(table([PASSED, FAILED, BLOCKED, WARNED, SKIPPED], width=120))
    assert found["MM-STORE-002"][0].split()[3:] == ["blocked", "blocked", "by", "MM-RETR-001"]
    assert found["MM-RETR-001"][0].split()[3] == "FAIL"
    assert found["MM-SEC-002"][0].split()[3] == "warn"
    assert found["MM-EVICT-001"][0].split()[3] == "skip"
    assert found["MM-STORE-001"][0].split()[3] == "pass"


def test_a_failures_output_is_shown_under_it_indented_and_trimmed() -> None:
    output = "\n".join(f"log line {n}" for n in range(1, 31)) + "\n" + "x" * 500
    chatty = result("MM-RETR-001", Status.FAILED, "expected [], got ['a']", output=output)
    lines = rows(table([chatty, PASSED], width=100))["MM-RETR-001"]
    assert lines[1].strip() == "target output (last 8 of 31 lines):"
    shown = lines[2:]
    assert len(shown) == 8 and all(line.startswith(" " * (DETAILS_AT + 2)) for line in shown)
    assert shown[0].strip() == "log line 24"
    assert all(len(line) <= 100 for line in shown) and shown[-1].endswith("...")
    # Output of a passed requirement is never shown; nor is output in the details column.
    assert "log line" not in "\n".join(rows(table([PASSED], width=100))["MM-STORE-001"])


def test_summary_counts_should_failures_as_warnings() -> None:
    line = summary(report(PASSED, FAILED, BLOCKED, WARNED, SKIPPED))
    assert line == (
        "pkg.mod:Manager: NOT CONFORMANT on core — 1 passed, 1 failed, 1 blocked, "
        "1 warning (SHOULD), 1 skipped, in 1.2 s, seed 11"
    )
    two = result("MM-INPUT-003", Status.FAILED, "x")
    assert tally(report(WARNED, two)) == (
        "0 passed, 0 failed, 0 blocked, 2 warnings (SHOULD), 0 skipped"
    )
    assert two.level is Level.SHOULD


def test_notes_are_printed_lines() -> None:
    noted = report(PASSED, notes=("the run reached --max-time (5 s) with 3 of 9 checks not run",))
    assert notes(noted) == ["note: the run reached --max-time (5 s) with 3 of 9 checks not run"]
    assert notes(report(PASSED)) == []


def test_markdown_lists_failures_warnings_and_what_blocked_each() -> None:
    chatty = FAILED.model_copy(update={"output": "DEBUG storing c1"})
    text = markdown(report(PASSED, chatty, BLOCKED, WARNED, SKIPPED, notes=("ran out of time",)))
    assert "1 passed, 1 failed, 1 blocked, 1 warning (SHOULD), 1 skipped." in text
    assert "- Note: ran out of time" in text
    assert "| `MM-STORE-002` | MUST | core | blocked | blocked by MM-RETR-001 |" in text
    failures = text.index("## Failures")
    warnings = text.index("## Warnings (SHOULD)")
    blocked = text.index("## Blocked")
    assert failures < warnings < blocked
    assert "### `MM-RETR-001` (MUST)" in text[failures:warnings]
    assert "### `MM-SEC-002` (SHOULD)" in text[warnings:blocked]
    assert "```python\nassert False\n```" in text
    assert "```text\nDEBUG storing c1\n```" in text
    assert "- `MM-STORE-002` (MUST): blocked by `MM-RETR-001`" in text[blocked:]


LIMITS = MeasuredLimits(
    conversation_id=Bound(unit="bytes", accepted=4096, refused=65536, refused_with="ValueError"),
    item=Bound(unit="bytes", accepted=256 * 1024),
    items_per_write=Bound(unit="items", accepted=1000, refused=10_000, refused_with="ValueError"),
    ttl=Bound(unit="seconds", accepted=2_592_000, refused=31 * 86400, refused_with="ValueError"),
    infinite_ttl=False,
    clock=False,
    expiry_precision=0.005,
    reopen=True,
)


def test_measured_limits_are_in_every_view() -> None:
    shown = report(FAILED).model_copy(update={"limits": LIMITS})
    expected = [
        ("longest conversation ID", "4 KiB (refuses 64 KiB: ValueError)"),
        ("largest item", "at least 256 KiB"),
        ("most items in one write", "1,000 items (refuses 10,000 items: ValueError)"),
        ("longest finite ttl", "30 days (refuses 31 days: ValueError)"),
        ("ttl=inf accepted", "no"),
        ("injectable clock", "no"),
        ("survives a reopen", "yes"),
        ("declared expiry precision", "0.005 s"),
    ]
    assert LIMITS.rows() == expected
    footer = limits(shown)
    assert footer[0].startswith("measured limits")
    assert [line.split(None, 0)[0].strip() for line in footer[1:]] == [
        f"{label.ljust(25)}  {value}" for label, value in expected
    ]
    page = markdown(shown)
    assert "## Measured limits" in page
    for label, value in expected:
        assert f"| {label} | {value} |" in page
    again = CertificationReport.model_validate_json(shown.model_dump_json())
    assert again.limits == LIMITS  # the JSON report carries them whole


def test_a_report_without_measured_limits_has_no_footer() -> None:
    assert limits(report(FAILED)) == []
    assert "Measured limits" not in markdown(report(FAILED))
