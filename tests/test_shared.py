"""Several managers over one backend (MM-DUR-003) and backend outages (MM-DUR-002/004).

Managers of ``tests/corpus/shared.py`` serialise either on the backend (correct) or inside one
manager object (broken): the cross-instance checks must tell them apart, and the outage
checks must tell a manager that reports a cut backend from one that hides it.
"""

from __future__ import annotations

from typing import Any

import pytest
from corpus.shared import SHARED_BROKEN, SHARED_CORRECT
from memspec.conformance import Target, certify
from memspec.reference.sqlite import temporary_async_sqlite_manager, temporary_sqlite_manager
from memspec.report import Status


def _certify(factory: Any, profiles: list[str] | None = None) -> Any:
    target = Target.from_factory(factory, name=f"corpus:{factory.__name__}")
    return certify(target, profiles=profiles, depth="quick", seed=7, shrink=False)


def _failed(report: Any) -> set[str]:
    return {r.id for r in report.requirements if r.status is Status.FAILED}


def _result(report: Any, requirement_id: str) -> Any:
    return next(r for r in report.requirements if r.id == requirement_id)


@pytest.mark.parametrize("manager", SHARED_CORRECT, ids=lambda cls: cls.__name__)
def test_managers_that_serialise_on_the_backend_are_conformant(manager: Any) -> None:
    report = _certify(manager, ["persistence"])
    assert _failed(report) == set(), [
        r.message for r in report.requirements if r.status is Status.FAILED
    ]
    assert report.conformant


@pytest.mark.parametrize("manager", SHARED_BROKEN, ids=lambda cls: cls.__name__)
def test_managers_that_serialise_per_object_fail_exactly_on_their_bug(manager: Any) -> None:
    report = _certify(manager, ["persistence"])
    assert _failed(report) == set(manager.BREAKS)
    assert not report.conformant


@pytest.mark.parametrize(
    "factory", [temporary_sqlite_manager, temporary_async_sqlite_manager], ids=lambda f: f.__name__
)
def test_the_sqlite_reference_is_checked_from_several_processes(factory: Any) -> None:
    report = certify(Target.from_factory(factory), profiles=["persistence"], depth="quick", seed=7)
    shared = _result(report, "MM-DUR-003")
    assert shared.status is Status.PASSED
    assert set(shared.checks) == {"persistence:shared-threads", "persistence:shared-processes"}


def test_an_in_process_backend_is_not_checked_from_other_processes() -> None:
    from corpus.shared import SharedRedisJSONManager

    report = _certify(SharedRedisJSONManager, ["persistence"])
    assert _result(report, "MM-DUR-003").checks == ("persistence:shared-threads",)


def test_without_an_outage_hook_backend_failures_are_left_to_the_target_with_a_reason() -> None:
    from corpus.shared import SqliteFileManager

    report = _certify(SqliteFileManager, ["persistence"])
    for requirement_id in ("MM-DUR-002", "MM-DUR-004", "MM-ERR-002"):
        result = _result(report, requirement_id)
        assert result.status is Status.SKIPPED
        assert "memspec_outage" in result.message
    assert report.conformant


def test_an_outage_hook_that_is_not_callable_is_refused() -> None:
    from memspec.conformance import TargetError

    class Manager:
        memspec_outage = "not a hook"

    with pytest.raises(TargetError, match="memspec_outage must be a callable"):
        Target.from_factory(Manager)
