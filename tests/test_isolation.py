"""Checks share forked workers, and a check that breaks one is judged again in a fresh one.

The checks here are the harness's own, written to do to a worker what a target can: leave
state behind, kill the process, hang, raise ``SystemExit`` and print.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
from memspec.catalogue import Profile
from memspec.conformance import Check, CheckFailure, Context, Target, isolation
from memspec.conformance.isolation import CheckEvent, run_checks_isolated
from memspec.reference import InMemoryManager

#: Set by a check in a worker, read by later checks of the same worker.
POISONED = False
#: Memory a check keeps after it ends.
HOARD: list[bytes] = []


def _check(name: str, run: Callable[[Context], None]) -> Check:
    return Check(name, Profile.CORE, ("MM-STORE-001",), run)


def _pid(context: Context) -> None:
    """Fails with the worker's process ID, so that a test can see which worker ran it."""
    raise CheckFailure(("MM-STORE-001",), f"pid {os.getpid()}")


def _poison(context: Context) -> None:
    global POISONED
    POISONED = True


def _dies_once_poisoned(context: Context) -> None:
    if POISONED:
        os._exit(3)


def _hoards(context: Context) -> None:
    HOARD.append(b"x" * (600 << 20))


def _dies(context: Context) -> None:
    print("last words", flush=True)
    os._exit(3)


def _hangs(context: Context) -> None:
    time.sleep(60)


def _exits(context: Context) -> None:
    raise SystemExit("the target quit")


def _prints(text: str) -> Callable[[Context], None]:
    def run(context: Context) -> None:
        print(text, flush=True)
        raise CheckFailure(("MM-STORE-001",), "failed on purpose")

    return run


def _context(check: Check) -> Context:
    target = Target.from_factory(InMemoryManager, name="InMemoryManager")
    return Context(target, False, depth="quick", seed=1, timeout=5.0, check_timeout=1.0)


def _run(checks: list[Check], **options: float) -> list[CheckEvent]:
    return list(run_checks_isolated(checks, _context, check_timeout=1.0, **options))


def _judged(events: list[CheckEvent]) -> list[CheckEvent]:
    return [e for e in events if e.outcome is not None]


def _message(event: CheckEvent) -> str:
    assert event.outcome is not None
    return event.outcome.failures[0].message


def test_checks_run_in_order_in_one_worker_that_is_not_this_process() -> None:
    checks = [_check(f"pid-{n}", _pid) for n in range(3)]
    events = _run(checks)
    assert [(e.index, e.outcome is not None) for e in events] == [
        (0, False),
        (0, True),
        (1, False),
        (1, True),
        (2, False),
        (2, True),
    ]
    pids = {_message(e) for e in _judged(events)}
    assert len(pids) == 1
    assert pids != {f"pid {os.getpid()}"}


def test_a_check_that_kills_a_shared_worker_is_judged_again_in_a_fresh_one() -> None:
    checks = [
        _check("poison", _poison),
        _check("dies-once-poisoned", _dies_once_poisoned),
        _check("pid", _pid),
    ]
    events = _run(checks)
    assert [e.index for e in events if e.outcome is None] == [0, 1, 2]  # one start each
    judged = _judged(events)
    assert [e.index for e in judged] == [0, 1, 2]
    assert judged[1].outcome is not None and judged[1].outcome.failures == []
    assert judged[1].outcome.passed == {"MM-STORE-001"}


def test_a_check_that_kills_its_own_fresh_worker_fails_with_its_output_only() -> None:
    checks = [_check("prints", _prints("from the first check")), _check("dies", _dies)]
    checks.append(_check("after", _prints("from the third check")))
    judged = _judged(_run(checks))
    assert [e.index for e in judged] == [0, 1, 2]
    died = judged[1].outcome
    assert died is not None
    (failure,) = died.failures
    assert (
        failure.message
        == "dies: the check the worker process exited with status 3 before it finished"
    )
    assert failure.output == "last words"
    assert judged[2].outcome is not None
    assert judged[2].outcome.failures[0].output == "from the third check"


def test_a_check_that_raises_out_of_the_harness_fails_once_a_fresh_worker_sees_it_too() -> None:
    checks = [_check("poison", _poison), _check("exits", _exits), _check("pid", _pid)]
    judged = _judged(_run(checks))
    assert [e.index for e in judged] == [0, 1, 2]
    assert "SystemExit: the target quit" in _message(judged[1])
    assert _message(judged[2]).startswith("pid ")


def test_a_hung_check_is_killed_and_the_next_one_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "_GRACE", 0.2)
    checks = [_check("pid", _pid), _check("hangs", _hangs), _check("after", _pid)]
    began = time.monotonic()
    judged = _judged(_run(checks))
    # Judged twice (in the shared worker, then alone), each within its limit.
    assert time.monotonic() - began < 10
    assert [e.index for e in judged] == [0, 1, 2]
    # Running out of its time witnesses nothing: the check's requirement is left unjudged.
    overran = judged[1].outcome
    assert overran is not None and not overran.failures
    assert overran.unjudged == {
        "MM-STORE-001": "not judged: hangs: the check did not finish within 1.2 s and was killed"
    }
    assert _message(judged[0]) != _message(judged[2])  # a fresh worker after the kill


def test_a_worker_left_holding_much_memory_is_replaced() -> None:
    checks = [_check("pid", _pid), _check("hoards", _hoards), _check("after", _pid)]
    judged = _judged(_run(checks))
    assert [e.index for e in judged] == [0, 1, 2]
    assert judged[1].outcome is not None and judged[1].outcome.failures == []
    assert _message(judged[0]) != _message(judged[2])


def test_no_check_starts_after_the_deadline() -> None:
    checks = [_check("hangs", _hangs), _check("never", _pid)]
    began = time.monotonic()
    events = _run(checks, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - began < 5
    assert [(e.index, e.outcome is not None) for e in events] == [(0, False), (0, True)]
    overran = events[1].outcome
    assert overran is not None and "was killed" in overran.unjudged["MM-STORE-001"]
