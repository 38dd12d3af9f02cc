"""A first attempt at a memory manager, with a bug many first attempts have.

It writes the slot once per item, so only the last item of a write survives. Certify it to
see what a failing run looks like (the certification guide shows this run):

    cd examples && memspec certify last_item_manager:LastItemManager --quick --seed 1
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from memspec import IMemoryInput, IWorkingMemory, as_memory_input, require_data
from memspec.ttl import DEFAULT_TTL, validate_clock, validate_ttl


class LastItemManager:
    """A dict of slots under one lock, expiry checked on every read."""

    def __init__(
        self, ttl: float | None = DEFAULT_TTL, clock: Callable[[], float] | None = None
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock) if clock is not None else time.monotonic
        self.slots: dict[str, tuple[list[str], float]] = {}
        self.lock = threading.Lock()

    def _key(self, request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def _deadline(self) -> float:
        return float("inf") if self.ttl is None else self.clock() + self.ttl

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        key = self._key(request)
        for item in require_data(request, "store"):
            with self.lock:  # the bug: one write per item, each replacing the last
                self.slots[key] = ([item.working_memory], self._deadline())
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self.lock:
            texts, deadline = self.slots.get(self._key(request), ([], 0.0))
            if self.clock() >= deadline:
                return []
            return [IWorkingMemory(working_memory=text) for text in texts]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = [item.working_memory for item in require_data(request, "update")]
        key = self._key(request)
        with self.lock:
            _, deadline = self.slots.get(key, ([], 0.0))
            if self.clock() < deadline:
                self.slots[key] = (texts, self._deadline())

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self.lock:
            self.slots.pop(self._key(request), None)
