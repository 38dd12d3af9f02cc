"""The scenario vectors: valid files, passed by the model, failed by broken models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from memspec import MemoryModel, catalogue
from memspec.catalogue import Profile, Scope
from memspec.conformance.checks import Context, run_check
from memspec.conformance.results import CheckOutcome
from memspec.conformance.target import Target
from memspec.conformance.vectors import CHECKS
from memspec.vectors import VectorError, load_vector, load_vectors

VECTOR_IDS = [v.id for v in load_vectors()]
VECTOR_CHECKS = {check.name: check for check in CHECKS if check.name.startswith("vector:")}


def run_vectors(factory: Any) -> list[CheckOutcome]:
    """Run every vector check against a factory."""
    target = Target.from_factory(factory)
    return [run_check(check, Context(target, is_async=False)) for check in VECTOR_CHECKS.values()]


@pytest.mark.parametrize("vector", load_vectors(), ids=VECTOR_IDS)
def test_the_model_passes_every_vector(vector: Any) -> None:
    check = VECTOR_CHECKS[f"vector:{vector.id}"]
    outcome = run_check(check, Context(Target.from_factory(MemoryModel), is_async=False))
    assert outcome.failures == []
    assert outcome.skipped == {}
    assert outcome.passed == vector.requirement_ids


def test_vectors_name_only_catalogue_requirements() -> None:
    known = {r.id for r in catalogue()}
    for vector in load_vectors():
        assert vector.requirement_ids <= known, vector.id


def test_every_core_and_ttl_interface_requirement_has_a_vector() -> None:
    covered = set().union(*(v.requirement_ids for v in load_vectors()))
    wanted = {r.id for r in catalogue().select([Profile.CORE, Profile.TTL], scope=Scope.INTERFACE)}
    # These need more than a sequence of JSON steps: mutating the caller's objects, a lone
    # surrogate that may be either kept or refused, duck-typed and mapping inputs, logging,
    # scale and threads.
    # The conformance suite's targeted checks cover them.
    beyond_vectors = {
        "MM-STORE-007",
        "MM-RETR-003",
        "MM-FID-003",
        "MM-INPUT-002",
        "MM-INPUT-003",
        "MM-SEC-002",
        "MM-TTL-010",
        "MM-LIMIT-003",  # thousands of slots on one manager: the scale check
        "MM-RES-001",  # threads left running: the harness and the resources check
        "MM-RES-002",  # calls that do not return: the driver's call limit and the call board
        "MM-MODEL-004",  # built without arguments: a vector cannot leave the clock out
    }
    assert wanted - beyond_vectors <= covered, sorted(wanted - beyond_vectors - covered)


class _AppendingModel(MemoryModel):
    """Broken on purpose: store appends to the slot instead of replacing it."""

    def store(self, input: Any) -> str:
        old = [i.working_memory for i in self.retrieve(input)]
        key = super().store(input)
        new = [i.working_memory for i in self.retrieve(input)]
        self._slots[(input.conversation_id, input.memory_type)] = self._slots[
            (input.conversation_id, input.memory_type)
        ].__class__(items=tuple(old + new), written_at=self.clock())
        return key


class _LateExpiryModel(MemoryModel):
    """Broken on purpose: a slot is still alive at exactly t + ttl."""

    def _live(self, key: Any) -> Any:
        slot = self._slots.get(key)
        if slot is None or (self.ttl is not None and self.clock() > slot.written_at + self.ttl):
            return None
        return slot


def _failed_ids(factory: Any) -> set[str]:
    outcomes = run_vectors(factory)
    return {i for o in outcomes for f in o.failures for i in f.requirement_ids}


def test_vectors_catch_an_appending_store() -> None:
    assert "MM-STORE-003" in _failed_ids(_AppendingModel)


def test_vectors_catch_an_expiry_off_by_one() -> None:
    assert "MM-TTL-002" in _failed_ids(_LateExpiryModel)


def test_vectors_catch_a_manager_accepting_ttl_zero() -> None:
    def lenient(ttl: Any = 43200, clock: Any = None) -> MemoryModel:
        return MemoryModel(ttl=None if ttl == 0 else ttl, clock=clock)

    assert "MM-TTL-008" in _failed_ids(lenient)


def test_a_target_without_clock_skips_clock_vectors() -> None:
    outcomes = run_vectors(lambda **kw: MemoryModel(**kw))
    skipped = [o for o in outcomes if o.skipped]
    assert len(skipped) >= 6
    assert all("clock" in reason for o in skipped for reason in o.skipped.values())


def test_a_broken_vector_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(
        '{"format": 1, "id": "x", "title": "t", "profile": "core", '
        '"steps": [{"op": "advance", "seconds": -1}]}',
        "utf-8",
    )
    with pytest.raises(VectorError, match="steps/0"):
        load_vector(path)
    path.write_text("{", "utf-8")
    with pytest.raises(VectorError, match="not valid JSON"):
        load_vector(path)


@pytest.mark.parametrize(
    ("broken", "vector"),
    [
        ("KeepsFirstItem", "store-retrieve"),
        ("UpdateKeepsLifetime", "ttl-restart-on-write"),
        ("ZeroTTLMeansForever", "ttl-invalid-zero"),
        ("AcceptsEmptyWrites", "invalid-input"),
    ],
)
def test_a_vector_failure_comes_with_a_snippet_that_reproduces_it(broken: str, vector: str) -> None:
    import corpus.broken

    target = Target.from_factory(getattr(corpus.broken, broken))
    outcome = run_check(VECTOR_CHECKS[f"vector:{vector}"], Context(target, is_async=False))
    (failure,) = outcome.failures
    assert failure.reproduction is not None
    assert f"from corpus.broken import {broken}" in failure.reproduction
    with pytest.raises(AssertionError):
        exec(compile(failure.reproduction, "<reproduction>", "exec"), {})
