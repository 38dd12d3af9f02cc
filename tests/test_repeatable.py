"""Same seed, same report: statuses, blamed checks and messages repeat exactly."""

from __future__ import annotations

from typing import Any

import pytest
from corpus.broken import KeepsLastItem, TornWrites
from memspec.conformance import Target, certify
from memspec.reference import InMemoryManager


def _fingerprint(factory: Any) -> list[tuple[str, str, tuple[str, ...], str]]:
    report = certify(
        Target.from_factory(factory, name=f"corpus:{factory.__name__}"),
        depth="quick",
        seed=20261124,
        shrink=False,
    )
    return [(r.id, r.status.value, r.checks, r.message) for r in report.requirements]


@pytest.mark.parametrize(
    ("factory", "runs"),
    [(TornWrites, 5), (InMemoryManager, 3), (KeepsLastItem, 3)],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_runs_with_one_seed_give_one_report(factory: Any, runs: int) -> None:
    """The race manager, whose verdict most depends on timing, is certified five times."""
    first = _fingerprint(factory)
    for _ in range(runs - 1):
        assert _fingerprint(factory) == first
