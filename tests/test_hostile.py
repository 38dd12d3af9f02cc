"""A target cannot break the harness: crashes, exits, GIL-holding hangs, SystemExit,
leaked threads and runaway memory all end in a verdict, within a bounded time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _certify(target: str, tmp_path: Path, *extra: str, limit: float = 120) -> tuple[int, str, dict]:
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    began = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "memspec.conformance.cli",
            "certify",
            target,
            "--quick",
            "--no-shrink",
            "--seed",
            "3",
            "--report",
            str(report),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=limit,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert time.monotonic() - began < limit
    data = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, done.stdout + done.stderr, data


def _failed(data: dict) -> dict[str, str]:
    return {r["id"]: r["message"] for r in data["requirements"] if r["status"] == "failed"}


def test_a_target_that_exits_the_process_is_not_conformant(tmp_path: Path) -> None:
    code, output, data = _certify("corpus.hostile:ExitsProcess", tmp_path)
    assert code == 1, output
    assert not data["conformant"]
    assert any("exited with status 0" in m for m in _failed(data).values())


def test_a_call_holding_the_gil_is_killed(tmp_path: Path) -> None:
    code, output, data = _certify(
        "corpus.hostile:HoldsTheGIL", tmp_path, "--check-timeout", "1", "--max-time", "4"
    )
    assert code == 1, output
    # Running out of the check's time witnesses nothing: what it judged is left unjudged.
    assert any("killed" in r["message"] for r in data["requirements"] if r["status"] == "skipped")
    assert any("--max-time" in note for note in data["notes"])


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt"])
def test_system_exit_and_keyboard_interrupt_fail_their_calls(tmp_path: Path, kind: str) -> None:
    code, output, data = _certify(f"corpus.hostile:Raises{kind}", tmp_path)
    assert code == 1, output
    assert any(kind in message for message in _failed(data).values())


def test_a_leaked_thread_is_a_warning_and_the_run_ends(tmp_path: Path) -> None:
    code, output, data = _certify("corpus.hostile:LeaksThread", tmp_path, "--profile", "core")
    failed = _failed(data)
    assert "forgotten-worker" in failed["MM-RES-001"], output
    assert set(failed) == {"MM-RES-001"}  # a SHOULD: reported, the verdict stands
    assert code == 0, output


def test_a_should_warning_such_as_a_leaked_thread_fails_a_strict_run(tmp_path: Path) -> None:
    # The leaked thread is a SHOULD warning (above); any SHOULD warning fails a strict run,
    # here one that is cheaper to produce (every check waits a second on a leaked thread).
    code, output, data = _certify(
        "corpus.broken:LogsMemoryAtInfo", tmp_path, "--profile", "core", "--strict"
    )
    assert data["conformant"], output
    assert code == 1, output
    assert "--strict: 1 SHOULD warning fails the run" in output


def test_runaway_memory_is_stopped_by_the_limit(tmp_path: Path) -> None:
    code, output, data = _certify(
        "corpus.hostile:EatsMemory", tmp_path, "--profile", "core", "--max-memory", "192"
    )
    assert code == 1, output
    assert any("MemoryError" in message for message in _failed(data).values())


@pytest.mark.parametrize("spec", ["corpus.hostile_import:X"])
def test_a_module_that_exits_on_import_is_a_usage_error(tmp_path: Path, spec: str) -> None:
    (tmp_path / "hostile_import.py").write_text("import os\nos._exit(0)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    done = subprocess.run(
        [sys.executable, "-m", "memspec.conformance.cli", "certify", "hostile_import:X"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "import" in done.stderr
