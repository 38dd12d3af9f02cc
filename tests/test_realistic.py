"""The realistic corpus: single-bug managers modelled on real designs, written from the
catalogue before the dimension checks, and correct managers of many designs.

Each broken manager must fail exactly the requirements its bug contradicts. Race bugs are
measured as detection rates (``benchmarks/race_detection.py``); large capacity bounds are
caught at default depth; bugs the suite cannot see are listed in ``GAPS`` with the reason,
as strict expected failures. The deterministic ones are certified through the pytest plugin,
which writes the report the command prints from: each run also asserts that both interfaces
give the verdict.
"""

from __future__ import annotations

from typing import Any

import pytest
from corpus.designs import DESIGNS
from corpus.realistic import REALISTIC
from memspec.catalogue import Level, catalogue
from memspec.conformance import Target, all_checks, certify
from memspec.report import Status
from through_plugin import certified_through_plugin

pytestmark = pytest.mark.filterwarnings("default::memspec.conformance.MemspecWarning")

# pytester drops modules first imported during a test; import the checks once, now.
ALL_CHECKS = all_checks()

#: Race bugs: whether one run hits a race is a matter of chance, so their power is a rate
#: over seeds (``benchmarks/race_detection.py``, figures in ``benchmarks/README.md``); here
#: only their blame is asserted.
RACES = {cls.__name__ for cls in REALISTIC if getattr(cls, "RACE", False)}

#: Capacity bounds and periodic sweeps beyond the 5,000 slots (10,000 writes) the scale check
#: makes at quick depth; the default depth (70,000 slots) catches them.
LARGE_CAPACITY = {
    "LRUCache65536Manager",
    "SqlRowCapManager",
    "ConversationCapDocManager",
    "IdleSweepManager",
}

#: Bugs the suite cannot see, and why.
GAPS: dict[str, str] = {
    "DeadlineBeforeCompressManager": (
        "its deadline is read before a slow compression; with an injected clock no time "
        "passes during the call, so the manager behaves as a correct one"
    ),
}

_CONCURRENCY = {"MM-CONC-001", "MM-CONC-002", "MM-CONC-003", "MM-ASYNC-002", "MM-ASYNC-003"}


def _certify(factory: Any) -> Any:
    target = Target.from_factory(factory, name=f"corpus:{factory.__name__}")
    return certify(target, depth="quick", seed=7, shrink=False)


def _failed(report: Any) -> set[str]:
    return {r.id for r in report.requirements if r.status is Status.FAILED}


def _cases() -> list[Any]:
    return [
        pytest.param(
            cls,
            id=cls.__name__,
            marks=[pytest.mark.xfail(strict=True, reason=GAPS[cls.__name__])]
            if cls.__name__ in GAPS
            else [],
        )
        for cls in REALISTIC
        if cls.__name__ not in RACES | LARGE_CAPACITY
    ]


def _by_name(names: set[str]) -> list[Any]:
    return [pytest.param(cls, id=cls.__name__) for cls in REALISTIC if cls.__name__ in names]


def test_the_realistic_corpus_is_large() -> None:
    assert len(REALISTIC) >= 40
    assert len(DESIGNS) >= 8
    names = {cls.__name__ for cls in REALISTIC}
    assert set(GAPS) | RACES | LARGE_CAPACITY <= names


@pytest.mark.parametrize("manager", _cases())
def test_realistic_managers_fail_exactly_on_their_bug(
    manager: Any, pytester: pytest.Pytester
) -> None:
    report = certified_through_plugin(pytester, manager)
    assert _failed(report) == set(manager.BREAKS)
    musts = {r.id for r in catalogue() if r.level is Level.MUST}
    if set(manager.BREAKS) & musts:
        assert not report.conformant


@pytest.mark.parametrize("manager", _by_name(RACES))
def test_race_managers_are_only_blamed_for_concurrency(manager: Any) -> None:
    assert _failed(_certify(manager)) <= _CONCURRENCY


@pytest.mark.parametrize("manager", _by_name(LARGE_CAPACITY))
def test_large_capacity_bounds_are_caught_at_default_depth(manager: Any) -> None:
    from memspec.conformance.dimensions import CHECKS as DIMENSIONS

    scale = [check for check in DIMENSIONS if check.name == "dimension:scale"]
    target = Target.from_factory(manager, name=f"corpus:{manager.__name__}")
    report = certify(target, profiles=["core"], depth="default", seed=7, checks=scale)
    assert _failed(report) == {"MM-LIMIT-003"}


@pytest.mark.parametrize("manager", DESIGNS, ids=lambda cls: cls.__name__)
def test_correct_designs_are_conformant(manager: Any, pytester: pytest.Pytester) -> None:
    report = certified_through_plugin(pytester, manager)
    assert _failed(report) == set(), [
        r.message for r in report.requirements if r.status is Status.FAILED
    ]
    assert report.conformant
