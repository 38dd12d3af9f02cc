"""The executable model: the simplest correct memory manager, used as the oracle.

It favours obviousness over speed: one dict of slots, expiry checked on every access by
comparing the clock with the write time, nothing purged in the background. Every branch
names the requirement IDs it carries out. The conformance suite runs a target and this model
side by side and compares what they return.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from memspec.models import (
    ConversationMemoryType,
    IMemoryInput,
    IWorkingMemory,
    as_memory_input,
    require_data,
)
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

__all__ = ["MemoryModel", "Slot", "SlotKey"]

#: A slot is named by its conversation and its memory type.
SlotKey = tuple[str, ConversationMemoryType]


@dataclass(frozen=True)
class Slot:
    """What the model holds for one slot: its items, metadata and time of last write."""

    items: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    written_at: float = 0.0


class MemoryModel:
    """A correct, deliberately naive implementation of the memory-manager contract."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)  # MM-TTL-008, MM-TTL-007 (None), MM-TTL-009 (default)
        self.clock = validate_clock(clock)  # MM-TTL-010
        self._slots: dict[SlotKey, Slot] = {}

    # -- the four operations -------------------------------------------------------------

    def store(self, input: IMemoryInput | Any) -> str:
        """Replace the slot's content with ``input.data``; return the slot's key."""
        request = as_memory_input(input)  # MM-INPUT-001..004: invalid input raises first
        items = tuple(i.working_memory for i in require_data(request, "store"))  # MM-STORE-001
        slot = (request.conversation_id, request.memory_type)  # MM-MODEL-001, MM-MODEL-003
        self._slots[slot] = Slot(  # MM-STORE-002, MM-STORE-003, MM-TTL-003 (fresh slot)
            items=items,  # MM-STORE-007: a tuple of str copies nothing mutable of the caller
            metadata=copy.deepcopy(request.metadata) if request.metadata else {},  # MM-META-002
            written_at=self.clock(),  # MM-TTL-004: the lifetime restarts
        )
        return self.key_of(slot)  # MM-STORE-004..006

    def retrieve(self, input: IMemoryInput | Any) -> list[IWorkingMemory]:
        """Return fresh copies of the slot's items, or ``[]`` when it is missing or expired."""
        request = as_memory_input(input)
        slot = self._live((request.conversation_id, request.memory_type))
        if slot is None:  # MM-RETR-002, MM-TTL-002, MM-TTL-003
            return []
        # MM-RETR-001, MM-RETR-003 (new objects every call), MM-RETR-004 and MM-TTL-005 (no
        # write), MM-MODEL-002 (limit and query ignored).
        return [IWorkingMemory(working_memory=text) for text in slot.items]

    def update(self, input: IMemoryInput | Any) -> None:
        """Replace a live slot's content; do nothing when it is missing or expired."""
        request = as_memory_input(input)
        items = tuple(i.working_memory for i in require_data(request, "update"))  # MM-UPD-001
        key = (request.conversation_id, request.memory_type)
        slot = self._live(key)
        if slot is None:  # MM-UPD-003, MM-TTL-003: nothing is created
            return
        self._slots[key] = Slot(  # MM-UPD-002
            items=items,
            # MM-META-002: metadata is replaced only when the update gives one
            metadata=copy.deepcopy(request.metadata)
            if request.metadata is not None
            else slot.metadata,
            written_at=self.clock(),  # MM-TTL-004
        )

    def delete(self, input: IMemoryInput | Any) -> None:
        """Remove the slot; a missing slot is not an error."""
        request = as_memory_input(input)
        # MM-DEL-001, MM-DEL-002 (that slot only), MM-DEL-003 (missing is fine)
        self._slots.pop((request.conversation_id, request.memory_type), None)

    # -- inspection, for the suite and for tests -----------------------------------------

    @staticmethod
    def key_of(slot: SlotKey) -> str:
        """The key ``store`` returns. The memory type never contains ``:``, so it is unique."""
        conversation_id, memory_type = slot
        return f"{memory_type.value}:{conversation_id}"

    def snapshot(self) -> dict[SlotKey, tuple[str, ...]]:
        """Return the items of every live slot, by slot."""
        return {key: slot.items for key in list(self._slots) if (slot := self._live(key))}

    def metadata_of(
        self,
        conversation_id: str,
        memory_type: ConversationMemoryType = ConversationMemoryType.WORKING_MEMORY,
    ) -> dict[str, Any] | None:
        """Return a copy of a live slot's metadata, or ``None`` when the slot is missing."""
        slot = self._live((conversation_id, memory_type))
        return None if slot is None else copy.deepcopy(slot.metadata)

    def expires_at(self, slot: SlotKey) -> float | None:
        """The time at which a live slot expires (``None``: missing, or no expiry)."""
        live = self._live(slot)
        if live is None or self.ttl is None:
            return None
        return live.written_at + self.ttl

    # -- helpers ------------------------------------------------------------------------

    def _live(self, key: SlotKey) -> Slot | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        if self.ttl is not None and self.clock() >= slot.written_at + self.ttl:
            return None  # MM-TTL-002: expired at t + ttl exactly, purged or not
        return slot  # MM-TTL-001: alive at every time before t + ttl
