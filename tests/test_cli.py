"""The memspec command: verdicts, exit codes, reports, progress, and runnable reproductions."""

from __future__ import annotations

import json
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
        ["certify", "corpus.broken:HangsOnRead", "--quick", "--seed", "1", "--timeout", "0.3", "-q"]
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
