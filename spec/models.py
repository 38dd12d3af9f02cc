"""The data model of the contract: memory types, memory items, operation inputs, stored records.

The names and field meanings follow the Arshai framework's ``IMemoryManager`` interface so that
code written against Arshai works unchanged; the one deliberate difference is the default
``memory_type``, which is ``WORKING_MEMORY`` here (see the "Coming from Arshai" docs page).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "STORED_RECORD_FORMAT",
    "ConversationMemoryType",
    "IMemoryInput",
    "IWorkingMemory",
    "StoredRecord",
    "as_memory_input",
    "copy_metadata",
    "dump_record",
    "require_data",
]

#: Version of the :class:`StoredRecord` document; bumped on any incompatible change.
STORED_RECORD_FORMAT = 1


class ConversationMemoryType(StrEnum):
    """The kinds of memory a conversation can hold; each kind is a separate slot.

    Values equal the member names, as in Arshai, so Arshai's own enum members and plain
    strings such as ``"WORKING_MEMORY"`` name the same slot.
    """

    WORKING_MEMORY = "WORKING_MEMORY"
    SHORT_TERM_MEMORY = "SHORT_TERM_MEMORY"
    LONG_TERM_MEMORY = "LONG_TERM_MEMORY"


class IWorkingMemory(BaseModel):
    """One item of a conversation's working memory: a piece of text the agent keeps."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    working_memory: str = Field(
        description="The remembered text. Any string of Unicode scalar values, empty included.",
    )


class IMemoryInput(BaseModel):
    """The argument of every memory-manager operation.

    ``conversation_id`` and ``memory_type`` name the *slot*; ``data`` and ``metadata`` are the
    content of a write. ``query``, ``memory_id``, ``limit`` and ``filters`` exist for other
    memory kinds and have no effect on working-memory slots.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    conversation_id: str = Field(
        min_length=1,
        description="The conversation the slot belongs to; any non-empty string, compared exactly.",
    )
    memory_type: ConversationMemoryType = Field(
        default=ConversationMemoryType.WORKING_MEMORY,
        description="Which of the conversation's slots; the enum member or its string value.",
    )
    data: list[IWorkingMemory] | None = Field(
        default=None,
        description="The items to write, in order. Required (non-empty) for store and update.",
    )
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Free-form data kept with the slot; it never changes what retrieve returns.",
    )
    query: str | None = Field(default=None, description="Search text; unused by working memory.")
    memory_id: str | None = Field(
        default=None, description="Item identifier; unused by working memory."
    )
    limit: int | None = Field(
        default=5,
        description="Result bound for search memories; never truncates a working-memory slot.",
    )
    filters: dict[str, Any] | None = Field(
        default=None, description="Search filters; unused by working memory."
    )


class StoredRecord(BaseModel):
    """The document a durable backend keeps for one slot (the value of a Redis key, say).

    It is versioned so that a backend can tell a record written by a newer release from a
    corrupt one; expiry is the backend's business and is not part of the document.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = Field(default=1, description="Version of this document's shape.")
    conversation_id: str = Field(min_length=1, description="The slot's conversation.")
    memory_type: ConversationMemoryType = Field(description="The slot's memory type.")
    data: list[IWorkingMemory] = Field(
        min_length=1, description="The items of the slot's last write, in order."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="The metadata of the slot's last write that gave one."
    )


def as_memory_input(value: object) -> IMemoryInput:
    """Return ``value`` as a validated :class:`IMemoryInput`.

    Accepts an ``IMemoryInput``, a mapping with its fields (Arshai's agent passes dicts), or any
    object with the same attributes (another framework's model). Raises pydantic's
    ``ValidationError`` naming the offending field, or ``TypeError`` for ``None``.
    """
    if isinstance(value, IMemoryInput):
        return value
    if value is None:
        raise TypeError("expected an IMemoryInput, a mapping or an object with its attributes")
    if isinstance(value, Mapping):
        return IMemoryInput.model_validate(dict(value))
    return IMemoryInput.model_validate(value, from_attributes=True)


def require_data(request: IMemoryInput, operation: str) -> list[IWorkingMemory]:
    """The items a ``store`` or ``update`` writes; ``ValueError`` when there are none.

    An empty write is refused rather than turned into an empty slot (``MM-STORE-001``,
    ``MM-UPD-001``): it would erase the memory.
    """
    if not request.data:
        raise ValueError(f"{operation} needs a non-empty 'data' list of IWorkingMemory items")
    return list(request.data)


def copy_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A deep, plain copy of ``metadata``: every mapping becomes a ``dict`` and every list or
    tuple a ``list``, so that any ``Mapping`` (``MappingProxyType``, another framework's
    read-only mapping) is kept, and nothing the caller holds is shared (``MM-META-001``,
    ``MM-STORE-007``). ``None`` stays ``None``.
    """
    if metadata is None:
        return None
    return {key: _plain(value) for key, value in metadata.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


def dump_record(
    request: IMemoryInput, items: list[IWorkingMemory], metadata: Mapping[str, Any]
) -> str:
    """The compact JSON of the :class:`StoredRecord` for a write of ``items`` and ``metadata``
    to ``request``'s slot, without building the model: the input is validated already and this
    is a write path. The same text as ``StoredRecord(...).model_dump_json()`` (a test checks
    it); metadata that JSON cannot hold raises pydantic's ``PydanticSerializationError``.
    """
    record = {
        "format": STORED_RECORD_FORMAT,
        "conversation_id": request.conversation_id,
        "memory_type": request.memory_type._value_,
        "data": [{"working_memory": item.working_memory} for item in items],
        "metadata": metadata,
    }
    return pydantic_core.to_json(record).decode("utf-8")
