"""Correct managers that differ from the reference in ways the suite must not hold against them:
key format, storage shape, the class of the items returned, and the clock."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
import time
from typing import Any

from memspec import as_memory_input
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl


@dataclasses.dataclass
class Note:
    """A memory item that is not memspec's: a mutable dataclass with the same attribute."""

    working_memory: str
    source: str = "notes"


def _items(input: Any) -> tuple[Any, list[str]]:
    request = as_memory_input(input)
    if not request.data:
        raise ValueError("data must not be empty")
    return request, [item.working_memory for item in request.data]


class HashedKeyManager:
    """Keys are SHA-256 digests; slots are stored as JSON text, not objects."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self._ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._rows: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: Any) -> str:
        raw = json.dumps([request.memory_type.value, request.conversation_id])
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()

    def _row(self, items: list[str]) -> str:
        expires = None if self._ttl is None else self._clock() + self._ttl
        return json.dumps({"expires": expires, "items": items})

    def _live(self, key: str) -> list[str] | None:
        row = self._rows.get(key)
        if row is None:
            return None
        record = json.loads(row)
        if record["expires"] is not None and self._clock() >= record["expires"]:
            return None
        return list(record["items"])

    def store(self, input: Any) -> str:
        request, items = _items(input)
        key = self._key(request)
        with self._lock:
            self._rows[key] = self._row(items)
        return key

    def retrieve(self, input: Any) -> list[Note]:
        with self._lock:
            items = self._live(self._key(as_memory_input(input)))
        return [Note(text) for text in items or []]

    def update(self, input: Any) -> None:
        request, items = _items(input)
        key = self._key(request)
        with self._lock:
            if self._live(key) is not None:
                self._rows[key] = self._row(items)

    def delete(self, input: Any) -> None:
        with self._lock:
            self._rows.pop(self._key(as_memory_input(input)), None)


class SQLiteManager:
    """Rows in an in-process SQLite table, one row per item; keys are row-set labels."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self._ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute(
            "CREATE TABLE item (conversation TEXT, kind TEXT, position INTEGER, text TEXT, "
            "expires REAL, PRIMARY KEY (conversation, kind, position))"
        )
        self._lock = threading.Lock()

    def _write(self, request: Any, items: list[str], only_if_live: bool) -> None:
        slot = (request.conversation_id, request.memory_type.value)
        now = self._clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if only_if_live and not self._is_live(slot, now):
                    self._db.execute("COMMIT")
                    return
                self._db.execute("DELETE FROM item WHERE conversation = ? AND kind = ?", slot)
                expires = None if self._ttl is None else now + self._ttl
                self._db.executemany(
                    "INSERT INTO item VALUES (?, ?, ?, ?, ?)",
                    [(*slot, i, text, expires) for i, text in enumerate(items)],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _is_live(self, slot: tuple[str, str], now: float) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM item WHERE conversation = ? AND kind = ? "
            "AND (expires IS NULL OR expires > ?) LIMIT 1",
            (*slot, now),
        ).fetchone()
        return row is not None

    def store(self, input: Any) -> str:
        request, items = _items(input)
        self._write(request, items, only_if_live=False)
        return f"sqlite://item/{request.memory_type.value}/{request.conversation_id}"

    def retrieve(self, input: Any) -> list[Note]:
        request = as_memory_input(input)
        with self._lock:
            rows = self._db.execute(
                "SELECT text FROM item WHERE conversation = ? AND kind = ? "
                "AND (expires IS NULL OR expires > ?) ORDER BY position",
                (request.conversation_id, request.memory_type.value, self._clock()),
            ).fetchall()
        return [Note(text) for (text,) in rows]

    def update(self, input: Any) -> None:
        request, items = _items(input)
        self._write(request, items, only_if_live=True)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._db.execute(
                "DELETE FROM item WHERE conversation = ? AND kind = ?",
                (request.conversation_id, request.memory_type.value),
            )

    def close(self) -> None:
        self._db.close()


class KwargsOnlyManager:
    """Takes only ``**kwargs`` (so no clock is injected) and measures time with time.time."""

    def __init__(self, **kwargs: Any) -> None:
        self._ttl = validate_ttl(kwargs.get("ttl", DEFAULT_TTL))
        self._slots: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def _live(self, slot: tuple[str, str]) -> tuple[str, ...] | None:
        found = self._slots.get(slot)
        if found is None or (self._ttl is not None and time.time() >= found[0]):
            return None
        return found[1]

    def store(self, input: Any) -> str:
        request, items = _items(input)
        slot = (request.memory_type.value, request.conversation_id)
        expires = time.time() + self._ttl if self._ttl is not None else 0.0
        with self._lock:
            self._slots[slot] = (expires, tuple(items))
        return repr(slot)

    def retrieve(self, input: Any) -> list[Note]:
        request = as_memory_input(input)
        with self._lock:
            items = self._live((request.memory_type.value, request.conversation_id))
        return [Note(text) for text in items or ()]

    def update(self, input: Any) -> None:
        request, items = _items(input)
        slot = (request.memory_type.value, request.conversation_id)
        with self._lock:
            if self._live(slot) is not None:
                expires = time.time() + self._ttl if self._ttl is not None else 0.0
                self._slots[slot] = (expires, tuple(items))

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._slots.pop((request.memory_type.value, request.conversation_id), None)


CORRECT: tuple[type, ...] = (HashedKeyManager, SQLiteManager, KwargsOnlyManager)


class SlowStoreManager(HashedKeyManager):
    """Correct, with every store taking 20 ms (a remote backend's round trip): the scale check
    must judge it on as many slots as fit in its time, not fail it for its speed."""

    STORE_SECONDS = 0.02

    def store(self, input: Any) -> str:
        time.sleep(self.STORE_SECONDS)
        return super().store(input)
