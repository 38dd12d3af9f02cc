"""The guard against over-reach: correct managers written plainly, without memspec's helpers
(``corpus/plain.py``), over memory, SQLite and memcached, each with bounds of its own, must be
certified conformant. A catalogue change or a check that fails one of them is wrong, unless
the manager really harms a caller.

Each is certified at quick depth here, on every profile it supports; ``benchmarks/
correct_designs.py --plain`` certifies them at default depth on several seeds. Their measured
limits are asserted too: the bounds each one chose are reported as facts, not failed.
"""

# The memcached fixture is imported, then named by the tests' parameters:
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest
from corpus.plain import (
    PLAIN,
    BoundedItemManager,
    CopyOnWriteManager,
    MemcachedManager,
    PlainSqliteManager,
    ThirtyDayManager,
)
from memcached_server import MemcachedServer, memcached_server  # noqa: F401 (a fixture)
from memspec.conformance import Target, certify
from memspec.report import Bound, CertificationReport, Status


def _certify(factory: Any, seed: int = 7) -> CertificationReport:
    target = Target.from_factory(factory, name=f"plain:{factory.__name__}")
    return certify(target, depth="quick", seed=seed, shrink=False)


def _not_passed(report: CertificationReport) -> list[str]:
    return [
        f"{r.id} {r.status.value}: {r.message}"
        for r in report.requirements
        if r.status in (Status.FAILED, Status.BLOCKED)
    ]


@pytest.fixture
def memcached(memcached_server: MemcachedServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MEMSPEC_MEMCACHED", memcached_server.address)
    return memcached_server.address


@pytest.mark.parametrize("manager", PLAIN, ids=lambda cls: cls.__name__)
def test_plain_correct_managers_are_conformant(manager: Any, memcached: str) -> None:
    report = _certify(manager)
    assert report.conformant, _not_passed(report)
    assert not _not_passed(report), _not_passed(report)  # no SHOULD warning either


def test_each_bound_a_manager_chose_is_reported_not_failed(memcached: str) -> None:
    thirty = _certify(ThirtyDayManager).limits
    assert thirty.ttl == Bound(
        unit="seconds", accepted=2_592_000, refused=31 * 86400, refused_with="ValueError"
    )
    assert thirty.infinite_ttl is False
    bounded = _certify(BoundedItemManager).limits
    assert bounded.item == Bound(
        unit="bytes", accepted=256 * 1024, refused=1 << 20, refused_with="ValueError"
    )
    assert bounded.items_per_write == Bound(unit="items", accepted=100_000)
    assert bounded.clock is True
    cached = _certify(MemcachedManager).limits
    assert cached.item is not None and cached.item.refused_with == "ValueError"
    assert cached.ttl is not None and cached.ttl.accepted == 2_592_000
    assert cached.clock is False and cached.expiry_precision == 0.005
    assert cached.reopen is True
    assert _certify(PlainSqliteManager).limits.reopen is True
    assert _certify(CopyOnWriteManager).limits.reopen is None  # no reopen hook to judge
