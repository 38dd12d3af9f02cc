"""The executable model: what the vectors cannot see (metadata, snapshots, expiry times)."""

from __future__ import annotations

import pytest
from memspec import ConversationMemoryType, IMemoryInput, IWorkingMemory, MemoryModel
from memspec.conformance.target import FakeClock

ST = ConversationMemoryType.SHORT_TERM_MEMORY


def _input(cid: str, *texts: str, **extra: object) -> IMemoryInput:
    return IMemoryInput.model_validate(
        {"conversation_id": cid, "data": [{"working_memory": t} for t in texts] or None, **extra}
    )


@pytest.mark.requirement("MM-META-002")
def test_metadata_set_by_store_and_replaced_by_update_only_when_given() -> None:
    model = MemoryModel()
    model.store(_input("c", "x"))
    assert model.metadata_of("c") == {}
    model.store(_input("c", "x", metadata={"a": 1}))
    assert model.metadata_of("c") == {"a": 1}
    model.update(_input("c", "y"))
    assert model.metadata_of("c") == {"a": 1}
    model.update(_input("c", "y", metadata={"b": 2}))
    assert model.metadata_of("c") == {"b": 2}
    assert model.metadata_of("missing") is None


@pytest.mark.requirement("MM-STORE-007", "MM-RETR-003")
def test_the_model_keeps_snapshots() -> None:
    model = MemoryModel()
    data = [IWorkingMemory(working_memory="x")]
    metadata: dict[str, object] = {"k": ["v"]}
    request = IMemoryInput(conversation_id="c", data=data, metadata=metadata)
    model.store(request)
    data.append(IWorkingMemory(working_memory="added later"))
    metadata["k"] = "changed"
    got = model.retrieve(request)
    got.clear()
    assert [i.working_memory for i in model.retrieve(request)] == ["x"]
    assert model.metadata_of("c") == {"k": ["v"]}


def test_snapshot_lists_live_slots_only() -> None:
    clock = FakeClock(0)
    model = MemoryModel(ttl=10, clock=clock)
    model.store(_input("old", "1"))
    clock.advance(5)
    model.store(
        IMemoryInput(
            conversation_id="new", memory_type=ST, data=[IWorkingMemory(working_memory="2")]
        )
    )
    assert model.expires_at(("old", ConversationMemoryType.WORKING_MEMORY)) == 10
    clock.advance(5)
    assert model.snapshot() == {("new", ST): ("2",)}
    assert model.expires_at(("old", ConversationMemoryType.WORKING_MEMORY)) is None


def test_keys_are_distinct_even_with_separators_in_ids() -> None:
    wm = ConversationMemoryType.WORKING_MEMORY
    keys = {
        MemoryModel.key_of((cid, t)) for cid in ["a", "a:b", "WORKING_MEMORY:a"] for t in (wm, ST)
    }
    assert len(keys) == 6


@pytest.mark.requirement("MM-TTL-010")
def test_the_model_reads_its_injected_clock() -> None:
    clock = FakeClock(100)
    model = MemoryModel(ttl=1, clock=clock)
    model.store(_input("c", "x"))
    clock.advance(1)
    assert model.retrieve(_input("c")) == []


@pytest.mark.parametrize("bad", [0, -1, True, "1", float("nan"), float("inf")])
def test_bad_ttl_is_rejected(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="ttl"):
        MemoryModel(ttl=bad)  # type: ignore[arg-type]


def test_bad_clock_is_rejected() -> None:
    with pytest.raises(TypeError, match="clock"):
        MemoryModel(clock=3.0)  # type: ignore[arg-type]
