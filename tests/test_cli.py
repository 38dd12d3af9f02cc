"""The memspec command: verdicts, exit codes, reports, progress, and runnable reproductions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from memspec.conformance.cli import main
from memspec.schemas import load_schema

REFERENCE = "memspec.reference:InMemoryManager"


def test_conformant_target_exits_0_and_writes_valid_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, md, badge = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "b.svg"
    status = main(
        [
            "certify",
            REFERENCE,
            "--quick",
            "--seed",
            "3",
            "--report",
            str(report),
            "--markdown",
            str(md),
            "--badge",
            str(badge),
        ]
    )
    assert status == 0
    data = json.loads(report.read_text("utf-8"))
    jsonschema.validate(data, load_schema("report"))
    assert data["conformant"] is True and data["seed"] == 3
    assert data["profiles"] == ["core", "ttl", "concurrency"]
    assert {r["status"] for r in data["requirements"]} <= {"passed", "skipped"}
    assert "**conformant**" in md.read_text("utf-8")
    svg = ET.fromstring(badge.read_text("utf-8"))
    assert svg.tag.endswith("svg") and "conformant" in ET.tostring(svg, encoding="unicode")
    out, err = capsys.readouterr()
    assert "MM-TTL-002" in out and "CONFORMANT" in out
    assert "] model:state-machine ... ok" in err


def test_broken_target_exits_1_with_a_runnable_reproduction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    status = main(
        [
            "certify",
            "corpus.broken:StoreAppends",
            "--quick",
            "--seed",
            "5",
            "--profile",
            "core",
            "--report",
            str(report),
        ]
    )
    assert status == 1
    data = json.loads(report.read_text("utf-8"))
    failed = {r["id"]: r for r in data["requirements"] if r["status"] == "failed"}
    assert "MM-STORE-003" in failed
    snippets = [r["reproduction"] for r in failed.values() if r["reproduction"]]
    assert snippets, "a failure found by the state machine carries a reproduction"
    with pytest.raises(AssertionError):
        exec(compile(snippets[0], "<reproduction>", "exec"), {})
    assert "NOT CONFORMANT" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("no.such.module:Manager", "cannot import module"),
        ("memspec:NoSuchThing", "has no attribute"),
        ("memspec.models:STORED_RECORD_FORMAT", "is not callable"),
        ("memspec:validate_clock", "cannot be called with ttl=60"),
        ("memspec:StoredRecord", "raised ValidationError"),
        ("collections:OrderedDict", "a manager needs store, retrieve, update and delete"),
        ("memspec.ttl:validate_ttl", "built a float without store, retrieve, update, delete"),
        ("nocolon", "must look like module:attr"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    target: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certify", target, "--quick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("memspec: error:") and reason in err


def test_bad_options_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["certify", REFERENCE, "--profile", "nonsense"])
    assert caught.value.code == 2


def test_a_hanging_target_fails_checks_instead_of_hanging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    status = main(
        [
            *("certify", "corpus.broken:HangsOnRead", "--profile", "core", "--quick"),
            *("--seed", "1", "--timeout", "0.2", "-q"),
        ]
    )
    assert status == 1
    assert time.monotonic() - started < 60
    assert "NOT CONFORMANT" in capsys.readouterr().out


def test_requirements_command_reads_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "--profile", "ttl", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed and all(r["profile"] == "ttl" for r in listed)
    assert main(["requirements"]) == 0
    assert "MM-STORE-001" in capsys.readouterr().out


def test_a_slow_target_is_bounded_by_the_check_time_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    status = main(
        [
            "certify",
            "corpus.broken:Sluggish",
            "--profile",
            "core",
            "--seed",
            "1",
            "--check-timeout",
            "1",
            "-q",
            "--no-shrink",
        ]
    )
    assert time.monotonic() - started < 60
    assert status == 1
    assert "NOT CONFORMANT" in capsys.readouterr().out


# -- what the report shows: evidence in reach ---------------------------------------------------

BROKEN = "corpus.broken:KeepsLastItem"  # its failure blocks much of core
FAST = ("--profile", "core", "--quick", "--no-shrink", "--seed", "1")
DETAILS_AT = 43
ROW = re.compile(r"^(MM-[A-Z]+-\d{3}) +(MUST|SHOULD) +\S+ +(\S+)")
SUMMARY = re.compile(
    r"^(\S+): (CONFORMANT|NOT CONFORMANT) on [a-z, ]+ — (\d+) passed, (\d+) failed, "
    r"(\d+) blocked, (\d+) warnings? \(SHOULD\), (\d+) skipped, in [\d.]+ s, seed (\d+)$"
)


def table_rows(out: str) -> dict[str, list[str]]:
    """Each requirement's lines in the printed table: its row, then its continuation lines."""
    lines = out.split("\n\n", 1)[0].splitlines()
    assert lines[0].startswith("requirement   level")
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        match = ROW.match(line)
        if match:
            found[match.group(1)] = [line]
        else:
            found[list(found)[-1]].append(line)
    return found


def status(row: str) -> str:
    """The status column of a table row."""
    match = ROW.match(row)
    assert match is not None, row
    return match.group(3)


def solid(text: str) -> str:
    return "".join(text.split())


def test_the_table_wraps_to_the_terminal_and_prints_the_first_reproduction(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    assert main(["certify", BROKEN, *FAST]) == 1
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert all(len(line) <= 72 for lines in rows.values() for line in lines)
    head = re.search(
        r"^Reproduce (MM-[A-Z]+-\d{3}) \(MUST\) with this program; --report", out, re.M
    )
    assert head is not None, "the first failure's reproduction is printed"
    failed = rows[head.group(1)]
    assert status(failed[0]) == "FAIL"
    assert len(failed) > 1 and all(line.startswith(" " * DETAILS_AT) for line in failed[1:])
    details = solid("".join(line[DETAILS_AT:] for line in failed))
    assert details.endswith("got['third']"), "the witness is shown in full, wrapped, not cut"
    blocked = [lines[0] for lines in rows.values() if status(lines[0]) == "blocked"]
    assert blocked and all(re.search(r" blocked by MM-[A-Z]+-\d{3}", row) for row in blocked)

    program = out[head.end() :].split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    with pytest.raises(AssertionError):
        exec(compile(program, "<printed reproduction>", "exec"), {})
    assert SUMMARY.match(out.rstrip().splitlines()[-1])


def test_report_writes_every_reproduction_beside_it_and_the_summary_counts_right(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    stale = tmp_path / "report.repro" / "MM-TTL-001.py"
    stale.parent.mkdir()
    stale.write_text("# from an earlier run\n", "utf-8")
    (stale.parent / "notes.txt").write_text("mine\n", "utf-8")
    assert main(["certify", BROKEN, *FAST, "--report", str(report)]) == 1
    out = capsys.readouterr().out
    data = json.loads(report.read_text("utf-8"))
    reproduced = [r for r in data["requirements"] if r["status"] == "failed" and r["reproduction"]]
    assert reproduced
    written = sorted(p.name for p in stale.parent.glob("*.py"))
    assert written == sorted(f"{r['id']}.py" for r in reproduced)
    assert (stale.parent / "notes.txt").exists(), "only reproductions are replaced"
    for result in reproduced:
        path = stale.parent / f"{result['id']}.py"
        assert f"reproduction of {result['id']}: {path}" in out
        assert path.read_text("utf-8").endswith(result["reproduction"])
    assert "Reproduce " not in out, "with --report the files replace the printed program"
    ran = subprocess.run(
        [sys.executable, str(stale.parent / f"{reproduced[0]['id']}.py")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        timeout=60,
    )
    assert ran.returncode != 0 and "AssertionError" in ran.stderr

    match = SUMMARY.match(out.rstrip().splitlines()[-1])
    assert match is not None
    statuses = [(r["status"], r["level"]) for r in data["requirements"]]
    assert [int(n) for n in match.group(3, 4, 5, 6, 7)] == [
        statuses.count(("passed", "MUST")) + statuses.count(("passed", "SHOULD")),
        statuses.count(("failed", "MUST")),
        statuses.count(("blocked", "MUST")) + statuses.count(("blocked", "SHOULD")),
        statuses.count(("failed", "SHOULD")),
        statuses.count(("skipped", "MUST")) + statuses.count(("skipped", "SHOULD")),
    ]
    assert match.group(8) == "1" and match.group(2) == "NOT CONFORMANT"


def test_a_should_failure_is_counted_as_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certify", "corpus.broken:LogsMemoryAtInfo", *FAST]) == 0
    out = capsys.readouterr().out
    assert status(table_rows(out)["MM-SEC-002"][0]) == "warn"
    assert "CONFORMANT on core — " in out and " 0 failed, 0 blocked, 1 warning (SHOULD), " in out


CHATTY = """
import logging

from corpus.broken import KeepsLastItem


class Chatty(KeepsLastItem):
    def store(self, input):
        print("chatty: storing", input.conversation_id, flush=True)
        logging.getLogger("chatty").warning("chatty: logged")
        return super().store(input)
"""


CHATTY_ARGS = ("certify", "chatty_manager:Chatty", *FAST)


def test_a_failures_target_output_is_shown_under_it_not_in_the_progress(tmp_path: Path) -> None:
    # A real process: the worker captures what the target writes to file descriptors 1 and 2.
    (tmp_path / "chatty_manager.py").write_text(CHATTY, "utf-8")
    ran = subprocess.run(
        [sys.executable, "-m", "memspec.conformance.cli", *CHATTY_ARGS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent), "COLUMNS": "100"},
        timeout=120,
    )
    assert ran.returncode == 1, ran.stderr
    rows = table_rows(ran.stdout)
    # Its dict-input warning (the print reads input.conversation_id) carries output too.
    failed = rows["MM-STORE-002"]
    assert any("target output" in x for x in failed)
    assert status(failed[0]) == "FAIL"
    at = next(i for i, line in enumerate(failed) if "target output" in line)
    assert failed[at].startswith(" " * DETAILS_AT)
    assert failed[at + 1].startswith(" " * (DETAILS_AT + 2) + "chatty: storing")
    assert len(failed) - at - 1 <= 8
    assert "WARNING chatty: chatty: logged" in "\n".join(failed), "log records are output too"
    assert "chatty:" not in ran.stderr, "the target's output never reaches the progress lines"
    assert "] vector:store-retrieve ... FAIL" in ran.stderr


def test_max_time_bounds_the_run_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    status = main(["certify", REFERENCE, "--seed", "1", "--max-time", "1", "--no-shrink"])
    assert time.monotonic() - started < 30
    assert status == 1, "MUSTs of checks that were not run cannot pass"
    out = capsys.readouterr().out
    assert re.search(r"^note: the run reached --max-time \(1 s\) with \d+ of \d+ checks", out, re.M)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-time", "0"),
        ("--max-time", "-3"),
        ("--max-time", "soon"),
        ("--max-memory", "0"),
        ("--max-memory", "lots"),
        ("--timeout", "0"),
        ("--check-timeout", "nan"),
    ],
)
def test_numbers_must_be_greater_than_0(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["certify", REFERENCE, option, value])
    assert caught.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        ("async", "builds a sync manager: certify it on 'concurrency', not 'async'"),
        ("persistence", "gives no memspec_reopen(manager)"),
    ],
)
def test_a_profile_the_target_cannot_take_exits_2(
    profile: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certify", REFERENCE, "--profile", profile, "--quick"]) == 2
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("memspec: error:") and reason in last
    assert captured.out == ""
