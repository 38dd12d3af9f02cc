"""A manager over Django's ``DatabaseCache`` (SQLite) is certified as its users call it: from
plain threads with no event loop, where Django's ORM runs, with no environment override.

Its verdict holds only the deviations the combination really has: Django's database cache
drops the microseconds of every expiry time (a slot of ``ttl=1`` can be gone after 0.4 s),
and it has no atomic replace, so an update racing a delete can bring a slot back, within one
manager or across several.
"""

from __future__ import annotations

import pytest
from memspec.conformance import Target, certify
from memspec.report import Status

django = pytest.importorskip("django", reason="Django is a dev dependency of the corpus")

#: What the combination really breaks. Expiry times cut to the whole second end slots up to a
#: second early: in real time that shows as a slot gone before its ttl (MM-TTL-001), before a
#: restarted lifetime ends (MM-TTL-004) or before a fractional ttl ends (MM-TTL-006), each
#: depending on where in a second the write fell. The read-then-write update races a delete
#: (MM-CONC-003, across managers MM-DUR-003) and other writers (MM-CONC-002). Which of them a
#: run sees is chance, so the test asserts that it sees nothing else.
DEVIATIONS = {
    "MM-TTL-001",
    "MM-TTL-004",
    "MM-TTL-006",
    "MM-CONC-002",
    "MM-CONC-003",
    "MM-DUR-003",
}


def test_a_manager_over_djangos_database_cache_is_certified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    from corpus.django_cache import DjangoDatabaseCacheManager

    target = Target.from_factory(DjangoDatabaseCacheManager, name="corpus:DjangoDatabaseCache")
    report = certify(target, depth="quick", seed=1, shrink=False)
    messages = " ".join(r.message for r in report.requirements)
    assert "SynchronousOnlyOperation" not in messages
    statuses = {r.id: r.status for r in report.requirements}
    for served in ("MM-MODEL-004", "MM-INPUT-001", "MM-STORE-002", "MM-DUR-001"):
        assert statuses[served] is Status.PASSED, served
    failed = {r.id for r in report.requirements if r.status is Status.FAILED}
    assert failed <= DEVIATIONS, failed
