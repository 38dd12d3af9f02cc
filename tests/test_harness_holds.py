"""A harness nothing holds: the parent enforces the call limit from its workers' call board
even when the target holds the GIL, later checks refuse the held call at once, and no worker
outlives a ``memspec certify`` that is killed, SIGKILL included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from memspec.conformance.callboard import CallBoard

GIL_HOLDER = '''
"""A manager whose retrieve holds the GIL: a catastrophic regular expression."""
import re

from memspec.reference import InMemoryManager


class GilHolder(InMemoryManager):
    def retrieve(self, input):
        re.match(r"(a+)+$", "a" * 64 + "b")  # exponential backtracking, never releasing the GIL
        return super().retrieve(input)


class Slow(InMemoryManager):
    """Each store takes 5 s, within the call limit: a worker spends its life inside calls."""

    def store(self, input):
        import time

        time.sleep(5)
        return super().store(input)
'''

MEMSPEC = str(Path(sys.executable).parent / "memspec")


@pytest.fixture
def holders(tmp_path: Path) -> Path:
    (tmp_path / "holders.py").write_text(GIL_HOLDER, "utf-8")
    return tmp_path


def test_the_board_reports_a_call_past_its_limit_and_grace() -> None:
    board = CallBoard()
    slot = board.slot()
    board.begin(slot, "retrieve", 2.0, time.monotonic() - 3.5)
    assert board.overdue(grace=2.0) is None  # 3.5 s into a 2 s call with 2 s of grace
    board.begin(slot, "retrieve", 2.0, time.monotonic() - 4.5)
    overdue = board.overdue(grace=2.0)
    assert overdue is not None and (overdue.label, overdue.limit) == ("retrieve", 2.0)
    board.end(slot)
    assert board.overdue(grace=0.0) is None
    board.close()


def test_a_target_that_holds_the_gil_gets_its_verdict_quickly(holders: Path) -> None:
    started = time.monotonic()
    ran = subprocess.run(
        [MEMSPEC, "certify", "holders:GilHolder", "--quick", "--timeout", "2", "--seed", "1"],
        cwd=holders,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    took = time.monotonic() - started
    assert ran.returncode == 1, ran.stderr[-2000:]
    assert took < 60, f"{took:.0f} s"
    assert "did not respond" in ran.stdout


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")
def test_no_worker_outlives_a_killed_certify(holders: Path) -> None:
    certify = subprocess.Popen(
        [MEMSPEC, "certify", "holders:Slow", "--seed", "1"],
        cwd=holders,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while not workers and time.monotonic() < deadline:
        workers = _children(certify.pid)
        time.sleep(0.1)
    assert workers, "memspec certify forked no worker within 60 s"
    time.sleep(1)  # into the first check's first store (the target's inspection has ended)
    workers = _children(certify.pid)
    assert workers, "no worker was running a check"
    os.kill(certify.pid, signal.SIGKILL)
    certify.wait(10)
    # Well before the store returns: a worker that outlived its parent would still be in it.
    deadline = time.monotonic() + 2
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)], "a worker outlived its run"


def test_a_call_that_never_returns_fails_the_call_limit_and_nothing_else() -> None:
    from corpus.broken import HangsOnRead
    from memspec.conformance import Target, certify
    from memspec.report import Status

    target = Target.from_factory(HangsOnRead, name="corpus:HangsOnRead")
    report = certify(target, profiles=["core"], depth="quick", seed=1, timeout=0.2, shrink=False)
    assert {r.id for r in report.requirements if r.status is Status.FAILED} == {"MM-RES-002"}
    assert not report.conformant
