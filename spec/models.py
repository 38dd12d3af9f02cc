"""The data model of the contract: memory types, memory items, operation inputs, stored records.

The names and field meanings follow the Arshai framework's ``IMemoryManager`` interface so that
code written against Arshai works unchanged; the one deliberate difference is the default
``memory_type``, which is ``WORKING_MEMORY`` here (see the "Coming from Arshai" docs page).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_INT_DIGITS",
    "MAX_METADATA_DEPTH",
    "STORED_RECORD_FORMAT",
    "ConversationMemoryType",
    "IMemoryInput",
    "IWorkingMemory",
    "StoredRecord",
    "as_memory_input",
    "check_text",
    "copy_metadata",
    "dump_record",
    "require_data",
]

#: Version of the :class:`StoredRecord` document; bumped on any incompatible change.
STORED_RECORD_FORMAT = 1

#: Metadata nested deeper than this many mappings and lists is refused (a cycle is, too):
#: JSON codecs stop at a recursion limit of their own (pydantic's serializer near 255), and a
#: bound every backend keeps is the only way for all of them to behave alike (MM-META-004).
MAX_METADATA_DEPTH = 32

#: Ints in metadata may have at most this many decimal digits: Python refuses to turn a
#: longer int into text by default (``sys.get_int_max_str_digits``), so no JSON writer can.
MAX_INT_DIGITS = 4300

_INT_LIMIT = 10**MAX_INT_DIGITS

# Any surrogate code point in a ``str`` is unpaired: Python keeps non-BMP characters whole.
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    ``ValidationError`` naming the offending field, or ``TypeError`` for ``None``. An
    ``IMemoryInput`` built without validation (``model_construct``) is validated here, so a
    ``conversation_id`` of ``None`` is refused rather than stored under ``"None"``; a
    conversation ID holding a lone surrogate is refused too (:func:`check_text`).
    """
    if isinstance(value, IMemoryInput):
        request = value
        if not (
            type(request.conversation_id) is str
            and request.conversation_id
            and type(request.memory_type) is ConversationMemoryType
        ):
            request = IMemoryInput.model_validate(dict(request.__dict__))
    elif value is None:
        raise TypeError("expected an IMemoryInput, a mapping or an object with its attributes")
    elif isinstance(value, Mapping):
        request = IMemoryInput.model_validate(dict(value))
    else:
        request = IMemoryInput.model_validate(value, from_attributes=True)
    check_text(request.conversation_id, "conversation_id")
    return request


def check_text(text: str, field: str) -> str:
    """Return ``text``, or raise ``ValueError`` naming ``field`` if it holds a lone surrogate.

    A lone surrogate is not a Unicode scalar value: UTF-8 cannot encode it, so a durable
    backend cannot store it. Every manager of this project refuses it, before anything changes,
    for the same input on every backend (``MM-FID-003`` allows either refusing or keeping it).
    """
    if not text.isascii():
        found = _SURROGATE.search(text)
        if found is not None:
            raise ValueError(
                f"{field} holds a lone surrogate {found.group()!r} at index {found.start()}: "
                "only strings of Unicode scalar values can be stored"
            )
    return text


def require_data(request: IMemoryInput, operation: str) -> list[IWorkingMemory]:
    """The items a ``store`` or ``update`` writes; ``ValueError`` when there are none.

    An empty write is refused rather than turned into an empty slot (``MM-STORE-001``,
    ``MM-UPD-001``): it would erase the memory. An item whose ``working_memory`` is not a
    string raises ``TypeError``, and one holding a lone surrogate ``ValueError``, each naming
    the item (``data[1].working_memory``): inputs built without validation reach this point.
    """
    if not request.data:
        raise ValueError(f"{operation} needs a non-empty 'data' list of IWorkingMemory items")
    items = list(request.data)
    for position, item in enumerate(items):
        text = getattr(item, "working_memory", None)
        field = f"data[{position}].working_memory"
        if type(text) is not str:
            raise TypeError(f"{field} must be a str, not {type(text).__name__}")
        check_text(text, field)
    return items


def copy_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A validated, deep, plain copy of ``metadata``: what every manager of this project keeps.

    Metadata is JSON (``MM-META-003``, ``MM-META-004``): ``str`` (no lone surrogates),
    ``int`` (at most :data:`MAX_INT_DIGITS` digits), finite ``float``, ``bool``, ``None``,
    lists (a ``tuple`` becomes a ``list``) and mappings with ``str`` keys (any ``Mapping``
    becomes a ``dict``), nested at most :data:`MAX_METADATA_DEPTH` deep. Subclasses of these
    (a ``StrEnum`` member, say) become the plain type, as a JSON round trip would leave them.
    Anything else raises ``TypeError`` (wrong type: a set, bytes, an object, a non-string key)
    or ``ValueError`` (NaN, infinity, a lone surrogate, too deep, too long an int) naming the
    field, as in ``metadata['tags'][2]``, before any backend sees it; so the in-memory, SQLite
    and Redis managers accept, refuse and round-trip exactly the same metadata. Nothing the
    caller holds is shared with the copy (``MM-STORE-007``). ``None`` stays ``None``.
    """
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise TypeError(
            f"metadata must be a mapping with str keys, or None, not {type(metadata).__name__}"
        )
    return _json_mapping(metadata, "metadata", 1)


def _json_mapping(value: Mapping[Any, Any], where: str, depth: int) -> dict[str, Any]:
    if depth > MAX_METADATA_DEPTH:
        raise ValueError(
            f"{where} is nested deeper than {MAX_METADATA_DEPTH} levels (or is a cycle)"
        )
    copied: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(
                f"{where} has a key of type {type(key).__name__} ({key!r}); keys must be str"
            )
        key = check_text(str.__str__(key), f"a key of {where}")
        copied[key] = _json_value(item, f"{where}[{key!r}]", depth)
    return copied


def _json_value(value: Any, where: str, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        return check_text(value, where)
    if value is None or kind is bool:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        number = int(value)
        if -_INT_LIMIT < number < _INT_LIMIT:
            return number
        raise ValueError(f"{where} is an int of more than {MAX_INT_DIGITS} digits")
    if isinstance(value, float):
        real = float(value)
        if math.isfinite(real):
            return real
        raise ValueError(f"{where} is {real!r}: JSON has no NaN or infinity")
    if isinstance(value, str):
        return check_text(str.__str__(value), where)
    if isinstance(value, Mapping):
        return _json_mapping(value, where, depth + 1)
    if isinstance(value, list | tuple):
        if depth + 1 > MAX_METADATA_DEPTH:
            raise ValueError(
                f"{where} is nested deeper than {MAX_METADATA_DEPTH} levels (or is a cycle)"
            )
        return [_json_value(item, f"{where}[{n}]", depth + 1) for n, item in enumerate(value)]
    raise TypeError(
        f"{where} is a {kind.__name__}, not a JSON value (str, int, finite float, bool, None, "
        "list or mapping with str keys)"
    )


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
