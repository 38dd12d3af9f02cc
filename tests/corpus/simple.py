"""A plain, correct manager that the broken corpus bends one rule at a time."""

from __future__ import annotations

import threading
from typing import Any

from memspec import IMemoryInput, IWorkingMemory, as_memory_input
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl


class SimpleManager:
    """Correct and small: a dict of entries under one lock, expiry checked on every access."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self.slots: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()

    # -- hooks the broken managers override --------------------------------------------

    def request(self, input: Any) -> IMemoryInput:
        return as_memory_input(input)

    def key(self, request: IMemoryInput) -> str:
        return f"{request.memory_type.value}|{request.conversation_id}"

    def items_of(self, request: IMemoryInput) -> list[str]:
        if not request.data:
            raise ValueError("data must be a non-empty list")
        return [item.working_memory for item in request.data]

    def expires_at(self, now: float) -> float | None:
        return None if self.ttl is None else now + self.ttl

    def expired(self, entry: dict[str, Any], now: float) -> bool:
        return entry["expires"] is not None and now >= entry["expires"]

    def live(self, key: str) -> dict[str, Any] | None:
        entry = self.slots.get(key)
        if entry is None or self.expired(entry, self.clock()):
            return None
        return entry

    def shown(self, items: list[str], request: IMemoryInput) -> list[str]:
        return list(items)

    # -- the four operations -------------------------------------------------------------

    def store(self, input: Any) -> str:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        with self.lock:
            self.slots[key] = {"items": items, "expires": self.expires_at(self.clock())}
        return key

    def retrieve(self, input: Any) -> list[Any]:
        request = self.request(input)
        with self.lock:
            entry = self.live(self.key(request))
            if entry is None:
                return []
            return [IWorkingMemory(working_memory=t) for t in self.shown(entry["items"], request)]

    def update(self, input: Any) -> None:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        with self.lock:
            if self.live(key) is not None:
                self.slots[key] = {"items": items, "expires": self.expires_at(self.clock())}

    def delete(self, input: Any) -> None:
        request = self.request(input)
        with self.lock:
            self.slots.pop(self.key(request), None)
