"""The data model: validation, defaults, and the inputs managers must accept."""

from __future__ import annotations

import enum
from types import SimpleNamespace

import pytest
from memspec import ConversationMemoryType, IMemoryInput, IWorkingMemory, StoredRecord
from memspec.models import as_memory_input
from pydantic import ValidationError

WM = ConversationMemoryType.WORKING_MEMORY


@pytest.mark.requirement("MM-MODEL-001")
def test_memory_type_defaults_to_working_memory() -> None:
    assert IMemoryInput(conversation_id="c").memory_type is WM


@pytest.mark.requirement("MM-MODEL-003")
@pytest.mark.parametrize("given", [WM, "WORKING_MEMORY"])
def test_memory_type_accepts_member_or_value(given: object) -> None:
    assert (
        IMemoryInput.model_validate({"conversation_id": "c", "memory_type": given}).memory_type
        is WM
    )


def test_memory_type_is_a_str_enum_with_arshai_values() -> None:
    assert issubclass(ConversationMemoryType, str)
    assert [m.value for m in ConversationMemoryType] == [
        "WORKING_MEMORY",
        "SHORT_TERM_MEMORY",
        "LONG_TERM_MEMORY",
    ]
    assert str(WM) == "WORKING_MEMORY"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"conversation_id": ""}, "conversation_id"),
        ({"conversation_id": 42}, "conversation_id"),
        ({}, "conversation_id"),
        ({"conversation_id": "c", "memory_type": "EPISODIC"}, "memory_type"),
        ({"conversation_id": "c", "data": [{"working_memory": 3}]}, "data.0.working_memory"),
        ({"conversation_id": "c", "data": "text"}, "data"),
        ({"conversation_id": "c", "limit": "many"}, "limit"),
        ({"conversation_id": "c", "conversaton_id": "typo"}, "conversaton_id"),
    ],
)
def test_bad_input_names_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        IMemoryInput.model_validate(fields)
    locations = [".".join(str(p) for p in error["loc"]) for error in caught.value.errors()]
    assert named in locations
    assert named.split(".")[0] in str(caught.value)


def test_working_memory_must_be_a_string() -> None:
    with pytest.raises(ValidationError, match="working_memory"):
        IWorkingMemory.model_validate({"working_memory": None})


def test_models_are_frozen() -> None:
    item = IWorkingMemory(working_memory="x")
    with pytest.raises(ValidationError, match="frozen"):
        item.working_memory = "y"  # type: ignore[misc]


@pytest.mark.requirement("MM-INPUT-001")
def test_as_memory_input_returns_an_input_unchanged() -> None:
    given = IMemoryInput(conversation_id="c")
    assert as_memory_input(given) is given


@pytest.mark.requirement("MM-INPUT-003")
def test_as_memory_input_validates_a_mapping() -> None:
    got = as_memory_input({"conversation_id": "c", "data": [{"working_memory": "x"}]})
    assert got == IMemoryInput(conversation_id="c", data=[IWorkingMemory(working_memory="x")])


@pytest.mark.requirement("MM-INPUT-002")
def test_as_memory_input_reads_any_object_with_the_attributes() -> None:
    class ForeignType(enum.StrEnum):
        WORKING_MEMORY = "WORKING_MEMORY"

    foreign = SimpleNamespace(
        conversation_id="c",
        memory_type=ForeignType.WORKING_MEMORY,
        data=[SimpleNamespace(working_memory="x", extra="ignored")],
    )
    got = as_memory_input(foreign)
    assert got.memory_type is WM
    assert got.data == [IWorkingMemory(working_memory="x")]
    assert got.limit == 5


@pytest.mark.requirement("MM-INPUT-004")
@pytest.mark.parametrize("bad", [None, 42, SimpleNamespace(conversation_id="")])
def test_as_memory_input_rejects_what_is_not_an_input(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        as_memory_input(bad)


def test_stored_record_needs_items_and_is_versioned() -> None:
    record = StoredRecord(
        conversation_id="c", memory_type=WM, data=[IWorkingMemory(working_memory="x")]
    )
    assert record.format == 1
    assert record.metadata == {}
    with pytest.raises(ValidationError, match="data"):
        StoredRecord(conversation_id="c", memory_type=WM, data=[])
