"""Same seed, same report: statuses, blamed checks and messages repeat exactly."""

from __future__ import annotations

from typing import Any

import pytest
from corpus.broken import KeepsLastItem, TornWrites
from memspec.conformance import Target, certify
from memspec.reference import InMemoryManager


def _fingerprint(factory: Any, profiles: Any) -> list[tuple[str, str, tuple[str, ...], str]]:
    report = certify(
        Target.from_factory(factory, name=f"corpus:{factory.__name__}"),
        profiles=profiles,
        depth="quick",
        seed=20261124,
        shrink=False,
    )
    return [(r.id, r.status.value, r.checks, r.message) for r in report.requirements]


@pytest.mark.parametrize(
    ("factory", "profiles", "runs"),
    [
        # A race: whether and how it is caught is up to timing, where a report could differ.
        (TornWrites, ["concurrency"], 5),
        (InMemoryManager, None, 2),
        (KeepsLastItem, None, 2),  # a deterministic bug that blocks much of the catalogue
    ],
    ids=["TornWrites", "InMemoryManager", "KeepsLastItem"],
)
def test_runs_with_one_seed_give_one_report(factory: Any, profiles: Any, runs: int) -> None:
    first = _fingerprint(factory, profiles)
    for _ in range(runs - 1):
        assert _fingerprint(factory, profiles) == first
