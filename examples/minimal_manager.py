"""A complete, minimal memory manager that the suite certifies CONFORMANT.

A dict of slots under one lock. Each slot keeps the texts of its last write, its metadata and
the time it expires; reads check that time themselves, so an expired slot is invisible
whether or not anything cleaned it up. Certify it from this folder:

    memspec certify minimal_manager:MinimalManager --quick
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from memspec import (
    DEFAULT_TTL,
    IMemoryInput,
    IWorkingMemory,
    as_memory_input,
    copy_metadata,
    require_data,
    validate_clock,
    validate_ttl,
)

#: A slot's state: its texts, its metadata and the clock reading at which it expires.
Slot = tuple[tuple[str, ...], dict[str, Any], float]


class MinimalManager:
    """Working memory in a dict, safe across threads, with expiry on an injectable clock."""

    def __init__(
        self, ttl: float | None = DEFAULT_TTL, clock: Callable[[], float] | None = None
    ) -> None:
        self.ttl = validate_ttl(ttl)  # ValueError/TypeError for 0, -1, True, "60"
        self.clock = validate_clock(clock)  # time.monotonic unless the suite injects one
        self._slots: dict[tuple[str, str], Slot] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _slot(request: IMemoryInput) -> tuple[str, str]:
        # A tuple, not a joined string: no two different slots can share a key.
        return (request.memory_type.value, request.conversation_id)

    def _expires(self) -> float:
        return math.inf if self.ttl is None else self.clock() + self.ttl

    def _live(self, key: tuple[str, str]) -> Slot | None:
        slot = self._slots.get(key)
        if slot is not None and self.clock() >= slot[2]:
            del self._slots[key]  # expired: exactly like a missing slot
            return None
        return slot

    def store(self, input: Any) -> str:
        request = as_memory_input(input)  # IMemoryInput, a dict, or another framework's object
        texts = tuple(item.working_memory for item in require_data(request, "store"))
        metadata = copy_metadata(request.metadata) or {}
        with self._lock:
            self._slots[self._slot(request)] = (texts, metadata, self._expires())
        return f"{request.memory_type.value}:{request.conversation_id}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            slot = self._live(self._slot(request))
        # New item objects on every read: the caller may change them freely.
        return [] if slot is None else [IWorkingMemory(working_memory=t) for t in slot[0]]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = tuple(item.working_memory for item in require_data(request, "update"))
        new_metadata = copy_metadata(request.metadata)
        key = self._slot(request)
        with self._lock:
            slot = self._live(key)
            if slot is not None:  # a missing or expired slot is not created
                metadata = slot[1] if new_metadata is None else new_metadata
                self._slots[key] = (texts, metadata, self._expires())

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._slots.pop(self._slot(request), None)
