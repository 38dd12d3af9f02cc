"""Held-out broken managers: each ships one bug that a real memory manager or cache could have.

They are written independently of the conformance suite and used only to measure it. Each class
names, in ``BREAKS``, the requirements whose statements its one bug contradicts.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import fnmatch
import heapq
import itertools
import json
import math
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import FIFOCache
from memspec import IMemoryInput, IWorkingMemory, as_memory_input, require_data
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

# --------------------------------------------------------------------------- shared helpers


def _texts(request: IMemoryInput, operation: str) -> list[str]:
    """The strings a write stores; ``ValueError`` when ``data`` is missing or empty."""
    return [item.working_memory for item in require_data(request, operation)]


def _shown(texts: Any) -> list[IWorkingMemory]:
    return [IWorkingMemory(working_memory=text) for text in texts]


def _slot_name(request: IMemoryInput) -> str:
    return f"{request.memory_type.value}:{request.conversation_id}"


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


class _FakeRedis:
    """An in-process stand-in for a Redis server: bytes keys and values, absolute expiry
    deadlines measured with the manager's clock, lazy expiry, and a sorted key index for SCAN."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._values: dict[bytes, bytes] = {}
        self._deadlines: dict[bytes, float] = {}
        self._index: list[bytes] = []

    def _alive(self, key: bytes) -> bool:
        if key not in self._values:
            return False
        deadline = self._deadlines.get(key)
        if deadline is not None and self._clock() >= deadline:
            self._drop(key)
            return False
        return True

    def _drop(self, key: bytes) -> None:
        del self._values[key]
        self._deadlines.pop(key, None)
        at = bisect.bisect_left(self._index, key)
        del self._index[at]

    def get(self, key: bytes) -> bytes | None:
        return self._values[key] if self._alive(key) else None

    def mget(self, keys: list[bytes]) -> list[bytes | None]:
        return [self.get(key) for key in keys]

    def set(self, key: bytes, value: bytes, expire_at: float | None = None) -> None:
        if key not in self._values:
            bisect.insort(self._index, key)
        self._values[key] = value
        if expire_at is None:
            self._deadlines.pop(key, None)
        else:
            self._deadlines[key] = expire_at

    def expire_at(self, key: bytes, when: float) -> bool:
        if not self._alive(key):
            return False
        self._deadlines[key] = when
        return True

    def pttl(self, key: bytes) -> float | None:
        """Seconds left, ``math.inf`` for a key without expiry, ``None`` for a missing key."""
        if not self._alive(key):
            return None
        deadline = self._deadlines.get(key)
        return math.inf if deadline is None else deadline - self._clock()

    def delete(self, *keys: bytes) -> int:
        removed = 0
        for key in keys:
            if self._alive(key):
                self._drop(key)
                removed += 1
        return removed

    def scan_iter(self, match: str) -> Iterator[bytes]:
        pattern = match.encode("utf-8")
        literal = pattern[:-1]
        if pattern.endswith(b"*") and not any(c in literal for c in b"*?[]\\"):
            start = bisect.bisect_left(self._index, literal)
            found = []
            for key in self._index[start:]:
                if not key.startswith(literal):
                    break
                found.append(key)
        else:
            found = [k for k in self._index if fnmatch.fnmatchcase(k.decode("latin-1"), match)]
        return iter([key for key in found if self._alive(key)])


# --------------------------------------------------------------------------- 1. scale


@dataclass(frozen=True)
class _Entry:
    items: tuple[str, ...]
    metadata: dict[str, Any]
    expires: float | None
    seq: int


def _weight(entry: _Entry) -> int:
    return len(entry.items)


class ItemBudgetCacheManager:
    """Bug: slots live in a cachetools FIFOCache weighted by item count with a fixed "big enough"
    budget of 2**20 items, so a busy process silently evicts live slots (cachetools cache design).
    """

    BREAKS = ("MM-LIMIT-003",)
    ITEM_BUDGET = 1 << 20

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self._cache: FIFOCache[str, _Entry] = FIFOCache(self.ITEM_BUDGET, getsizeof=_weight)
        self._deadlines: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def _sweep(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, seq, key = heapq.heappop(self._deadlines)
            entry = self._cache.get(key)
            if entry is not None and entry.seq == seq:
                del self._cache[key]

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._cache.get(key)
        if entry is None or (entry.expires is not None and now >= entry.expires):
            return None
        return entry

    def _write(self, key: str, items: list[str], metadata: dict[str, Any], now: float) -> None:
        expires = None if self.ttl is None else now + self.ttl
        entry = _Entry(tuple(items), metadata, expires, next(self._seq))
        self._cache[key] = entry
        if expires is not None:
            heapq.heappush(self._deadlines, (expires, entry.seq, key))

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = _texts(request, "store")
        key = _slot_name(request)
        with self._lock:
            now = self.clock()
            self._sweep(now)
            self._write(key, items, dict(request.metadata or {}), now)
        return key

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        with self._lock:
            now = self.clock()
            self._sweep(now)
            entry = self._live(_slot_name(request), now)
            return [] if entry is None else _shown(entry.items)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = _texts(request, "update")
        key = _slot_name(request)
        with self._lock:
            now = self.clock()
            self._sweep(now)
            entry = self._live(key, now)
            if entry is not None:
                metadata = entry.metadata if request.metadata is None else dict(request.metadata)
                self._write(key, items, metadata, now)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._cache.pop(_slot_name(request), None)


# --------------------------------------------------------------------------- 2. items per write

#: SQLite's default limit on host parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER).
_SQLITE_MAX_PARAMS = 32_766
_ROWS_PER_INSERT = _SQLITE_MAX_PARAMS // 3

_SCHEMA = """
CREATE TABLE slots (slot TEXT PRIMARY KEY, expires REAL, metadata TEXT NOT NULL);
CREATE TABLE items (slot TEXT NOT NULL, pos INTEGER NOT NULL, text TEXT NOT NULL,
                    PRIMARY KEY (slot, pos));
"""


class BatchedInsertSQLiteManager:
    """Bug: items go in through multi-row INSERTs batched to SQLite's 32,766-parameter limit with
    the ``zip(*[iter(rows)] * n)`` grouper, which drops the last, partial batch (SQL table design).
    """

    BREAKS = ("MM-LIMIT-005",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _live(self, slot: str, now: float) -> bool:
        row = self._conn.execute("SELECT expires FROM slots WHERE slot = ?", (slot,)).fetchone()
        return row is not None and (row[0] is None or now < row[0])

    def _insert_items(self, slot: str, items: list[str]) -> None:
        rows = [(slot, pos, text) for pos, text in enumerate(items)]
        if len(rows) <= _ROWS_PER_INSERT:
            batches: list[tuple[tuple[str, int, str], ...]] = [tuple(rows)]
        else:
            batches = list(zip(*[iter(rows)] * _ROWS_PER_INSERT, strict=False))
        for batch in batches:
            values = ", ".join(["(?, ?, ?)"] * len(batch))
            params = [value for row in batch for value in row]
            self._conn.execute(f"INSERT INTO items (slot, pos, text) VALUES {values}", params)

    def _write(self, slot: str, items: list[str], metadata: str | None, now: float) -> None:
        expires = None if self.ttl is None else now + self.ttl
        with self._conn:
            if metadata is None:
                row = self._conn.execute(
                    "SELECT metadata FROM slots WHERE slot = ?", (slot,)
                ).fetchone()
                metadata = row[0] if row is not None else "{}"
            self._conn.execute("DELETE FROM items WHERE slot = ?", (slot,))
            self._conn.execute(
                "INSERT OR REPLACE INTO slots (slot, expires, metadata) VALUES (?, ?, ?)",
                (slot, expires, metadata),
            )
            self._insert_items(slot, items)

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = _texts(request, "store")
        slot = _slot_name(request)
        metadata = _json(request.metadata or {})
        with self._lock:
            self._write(slot, items, metadata, self.clock())
        return slot

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        slot = _slot_name(request)
        with self._lock:
            if not self._live(slot, self.clock()):
                return []
            rows = self._conn.execute(
                "SELECT text FROM items WHERE slot = ? ORDER BY pos", (slot,)
            ).fetchall()
        return _shown(row[0] for row in rows)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = _texts(request, "update")
        slot = _slot_name(request)
        metadata = None if request.metadata is None else _json(request.metadata)
        with self._lock:
            now = self.clock()
            if self._live(slot, now):
                self._write(slot, items, metadata, now)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        slot = _slot_name(request)
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM items WHERE slot = ?", (slot,))
            self._conn.execute("DELETE FROM slots WHERE slot = ?", (slot,))


# --------------------------------------------------------------------------- 3. key derivation


class ScanDeleteRedisManager:
    """Bug: ``delete`` removes the record and its per-item keys with ``SCAN MATCH <key>*``, which
    also matches other conversations whose base64 key extends this one (Redis multi-key layout).
    """

    BREAKS = ("MM-DEL-002", "MM-ISO-003")

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        prefix: str = "memspec",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self.prefix = prefix
        self._redis = _FakeRedis(self.clock)
        self._lock = threading.Lock()  # stands in for MULTI/EXEC around each operation

    def _key(self, request: IMemoryInput) -> str:
        encoded = request.conversation_id.encode("utf-8", "surrogatepass")
        token = base64.urlsafe_b64encode(encoded).decode("ascii")
        return f"{self.prefix}:{request.memory_type.value}:{token}"

    @staticmethod
    def _item_key(key: str, pos: int) -> bytes:
        return f"{key}:{pos}".encode()

    def _header(self, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(key.encode())
        return None if raw is None else dict(json.loads(raw))

    def _write(
        self, key: str, payload: list[bytes], metadata: Any, old: dict[str, Any] | None
    ) -> None:
        expire_at = None if self.ttl is None else self.clock() + self.ttl
        header = {"count": len(payload), "metadata": metadata}
        encoded_header = _json(header).encode()
        for pos, value in enumerate(payload):
            self._redis.set(self._item_key(key, pos), value, expire_at)
        self._redis.set(key.encode(), encoded_header, expire_at)
        if old is not None:
            stale = range(len(payload), int(old["count"]))
            self._redis.delete(*(self._item_key(key, pos) for pos in stale))

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        payload = [text.encode("utf-8") for text in _texts(request, "store")]
        key = self._key(request)
        with self._lock:
            self._write(key, payload, request.metadata or {}, self._header(key))
        return key

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        key = self._key(request)
        with self._lock:
            header = self._header(key)
            if header is None:
                return []
            values = self._redis.mget([self._item_key(key, p) for p in range(header["count"])])
        if any(value is None for value in values):
            return []
        return _shown(value.decode("utf-8") for value in values if value is not None)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        payload = [text.encode("utf-8") for text in _texts(request, "update")]
        key = self._key(request)
        with self._lock:
            header = self._header(key)
            if header is not None:
                metadata = header["metadata"] if request.metadata is None else request.metadata
                self._write(key, payload, metadata, header)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = self._key(request)
        with self._lock:
            doomed = list(self._redis.scan_iter(match=f"{key}*"))
            if doomed:
                self._redis.delete(*doomed)


# --------------------------------------------------------------------------- 4. foreign enums


def _field(input: Any, name: str, default: Any) -> Any:
    value = input.get(name) if isinstance(input, Mapping) else getattr(input, name, None)
    return default if value is None else value


class CallerTypeKeyManager:
    """Bug: the Redis key is formatted from the caller's own ``memory_type`` object, as Arshai's
    ``_get_key`` does; another framework's ``(str, Enum)`` member formats as ``Cls.MEMBER``.
    """

    BREAKS = ("MM-MODEL-003",)

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        prefix: str = "arshai:memory",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self.prefix = prefix
        self._server: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    def _get_key(self, input: Any, request: IMemoryInput) -> str:
        memory_type = _field(input, "memory_type", request.memory_type)
        return f"{self.prefix}:{memory_type!s}:{request.conversation_id}"

    def _get(self, key: str) -> dict[str, Any] | None:
        found = self._server.get(key)
        if found is None:
            return None
        value, deadline = found
        if deadline is not None and self.clock() >= deadline:
            del self._server[key]
            return None
        return dict(json.loads(value))

    def _set(self, key: str, document: dict[str, Any]) -> None:
        deadline = None if self.ttl is None else self.clock() + self.ttl
        self._server[key] = (_json(document), deadline)

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        document = {"data": _texts(request, "store"), "metadata": request.metadata or {}}
        key = self._get_key(input, request)
        with self._lock:
            self._set(key, document)
        return key

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        key = self._get_key(input, request)
        with self._lock:
            document = self._get(key)
        return [] if document is None else _shown(document["data"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        key = self._get_key(input, request)
        with self._lock:
            document = self._get(key)
            if document is not None:
                if request.metadata is not None:
                    document["metadata"] = request.metadata
                document["data"] = texts
                self._set(key, document)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._server.pop(self._get_key(input, request), None)


# --------------------------------------------------------------------------- 5. foreign items


@dataclass
class _Held:
    items: list[Any]
    metadata: dict[str, Any]
    expires: float | None


class ZeroCopyManager:
    """Bug: to avoid copying large memories it keeps the caller's own item objects when they come
    from another framework and reads their text at retrieve time (in-process zero-copy store).
    """

    BREAKS = ("MM-STORE-007",)

    def __init__(self, ttl: float | None = DEFAULT_TTL) -> None:
        self.ttl = validate_ttl(ttl)
        self._slots: dict[str, _Held] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _items(input: Any, request: IMemoryInput, operation: str) -> list[Any]:
        validated = require_data(request, operation)
        if isinstance(input, (IMemoryInput, Mapping)):
            return list(validated)  # frozen IWorkingMemory instances, built by validation
        # the caller's own objects, kept as they are: no copy of their text
        return [
            item if isinstance(getattr(item, "working_memory", None), str) else checked
            for item, checked in zip(input.data, validated, strict=True)
        ]

    def _live(self, key: str, now: float) -> _Held | None:
        held = self._slots.get(key)
        if held is None or (held.expires is not None and now >= held.expires):
            return None
        return held

    def _deadline(self, now: float) -> float | None:
        return None if self.ttl is None else now + self.ttl

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = self._items(input, request, "store")
        key = _slot_name(request)
        with self._lock:
            now = time.monotonic()
            self._slots[key] = _Held(items, dict(request.metadata or {}), self._deadline(now))
        return key

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        with self._lock:
            held = self._live(_slot_name(request), time.monotonic())
            if held is None:
                return []
            return _shown(item.working_memory for item in held.items)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = self._items(input, request, "update")
        key = _slot_name(request)
        with self._lock:
            now = time.monotonic()
            held = self._live(key, now)
            if held is not None:
                metadata = held.metadata if request.metadata is None else dict(request.metadata)
                self._slots[key] = _Held(items, metadata, self._deadline(now))

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._slots.pop(_slot_name(request), None)


# --------------------------------------------------------------------------- 6. expiry wheel


class TimingWheelManager:
    """Bug: expiry is driven by a one-second timing wheel and reads trust it, so a slot is dropped
    when the tick holding its deadline is swept: at floor(deadline), up to a second early.
    """

    BREAKS = ("MM-TTL-001",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self._slots: dict[str, _Entry] = {}
        self._buckets: dict[int, list[tuple[str, int]]] = {}
        self._ticks: list[int] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def _advance(self) -> None:
        tick = math.floor(self.clock())
        while self._ticks and self._ticks[0] <= tick:
            for key, seq in self._buckets.pop(heapq.heappop(self._ticks)):
                entry = self._slots.get(key)
                if entry is not None and entry.seq == seq:
                    del self._slots[key]

    def _write(self, key: str, items: list[str], metadata: dict[str, Any]) -> None:
        deadline = None if self.ttl is None else self.clock() + self.ttl
        entry = _Entry(tuple(items), metadata, deadline, next(self._seq))
        self._slots[key] = entry
        if deadline is not None:
            tick = math.floor(deadline)
            if tick not in self._buckets:
                self._buckets[tick] = []
                heapq.heappush(self._ticks, tick)
            self._buckets[tick].append((key, entry.seq))

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = _texts(request, "store")
        key = _slot_name(request)
        with self._lock:
            self._advance()
            self._write(key, items, dict(request.metadata or {}))
        return key

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        with self._lock:
            self._advance()
            entry = self._slots.get(_slot_name(request))
            return [] if entry is None else _shown(entry.items)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = _texts(request, "update")
        key = _slot_name(request)
        with self._lock:
            self._advance()
            entry = self._slots.get(key)
            if entry is not None:
                metadata = entry.metadata if request.metadata is None else dict(request.metadata)
                self._write(key, items, metadata)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._advance()
            self._slots.pop(_slot_name(request), None)


# --------------------------------------------------------------------------- 7. rolling reads


class RollingSessionRedisManager:
    """Bug: like a rolling session store (connect-redis ``touch``), ``retrieve`` re-arms the key's
    expiry when less than a tenth of the TTL is left, so frequently read memory never expires.
    """

    BREAKS = ("MM-TTL-005",)
    TOUCH_BELOW = 0.1

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self._redis = _FakeRedis(self.clock)
        self._lock = threading.Lock()

    def _set(self, key: str, document: dict[str, Any]) -> None:
        expire_at = None if self.ttl is None else self.clock() + self.ttl
        self._redis.set(key.encode("utf-8", "surrogatepass"), _json(document).encode(), expire_at)

    def _get(self, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(key.encode("utf-8", "surrogatepass"))
        return None if raw is None else dict(json.loads(raw))

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        document = {"data": _texts(request, "store"), "metadata": request.metadata or {}}
        key = f"session:{_slot_name(request)}"
        with self._lock:
            self._set(key, document)
        return key

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        key = f"session:{_slot_name(request)}"
        with self._lock:
            document = self._get(key)
            if document is None:
                return []
            if self.ttl is not None:
                left = self._redis.pttl(key.encode("utf-8", "surrogatepass"))
                if left is not None and left < self.ttl * self.TOUCH_BELOW:
                    when = self.clock() + self.ttl
                    self._redis.expire_at(key.encode("utf-8", "surrogatepass"), when)
        return _shown(document["data"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        key = f"session:{_slot_name(request)}"
        with self._lock:
            document = self._get(key)
            if document is not None:
                document["data"] = texts
                if request.metadata is not None:
                    document["metadata"] = request.metadata
                self._set(key, document)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._redis.delete(f"session:{_slot_name(request)}".encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- 8. thread race


class StripedDocumentManager:
    """Bug: one JSON document per conversation holds all its memory types, but the lock stripes
    are chosen per slot, so writes to two types of one conversation race (document store design).
    """

    BREAKS = ("MM-CONC-002",)
    STRIPES = 64

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self._collection: dict[str, str] = {}
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    def _stripe(self, request: IMemoryInput) -> threading.Lock:
        name = _slot_name(request).encode("utf-8", "surrogatepass")
        return self._stripes[zlib.crc32(name) % self.STRIPES]

    def _find(self, conversation_id: str) -> dict[str, Any]:
        raw = self._collection.get(conversation_id)
        return {} if raw is None else dict(json.loads(raw))

    def _replace(self, conversation_id: str, document: dict[str, Any]) -> None:
        if document:
            self._collection[conversation_id] = _json(document)
        else:
            self._collection.pop(conversation_id, None)

    def _live(self, document: dict[str, Any], memory_type: str) -> dict[str, Any] | None:
        entry = document.get(memory_type)
        if entry is None or (entry["expires"] is not None and self.clock() >= entry["expires"]):
            return None
        return dict(entry)

    def _entry(self, texts: list[str], metadata: Any) -> dict[str, Any]:
        expires = None if self.ttl is None else self.clock() + self.ttl
        return {"data": texts, "metadata": metadata, "expires": expires}

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        cid, memory_type = request.conversation_id, request.memory_type.value
        with self._stripe(request):
            document = self._find(cid)
            document[memory_type] = self._entry(texts, request.metadata or {})
            self._replace(cid, document)
        return _slot_name(request)

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        with self._stripe(request):
            document = self._find(request.conversation_id)
            entry = self._live(document, request.memory_type.value)
        return [] if entry is None else _shown(entry["data"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        cid, memory_type = request.conversation_id, request.memory_type.value
        with self._stripe(request):
            document = self._find(cid)
            entry = self._live(document, memory_type)
            if entry is not None:
                metadata = entry["metadata"] if request.metadata is None else request.metadata
                document[memory_type] = self._entry(texts, metadata)
                self._replace(cid, document)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        cid, memory_type = request.conversation_id, request.memory_type.value
        with self._stripe(request):
            document = self._find(cid)
            if memory_type in document:
                del document[memory_type]
                self._replace(cid, document)


# --------------------------------------------------------------------------- 9. asyncio race


class _FakeAsyncRedis:
    """An in-process async Redis client and server: each round trip yields to the event loop, so
    other tasks' commands can run in between, as on a shared server."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lists: dict[str, list[str]] = {}
        self._deadlines: dict[str, float] = {}

    @staticmethod
    async def _round_trip() -> None:
        await asyncio.sleep(0)

    def _alive(self, key: str) -> bool:
        deadline = self._deadlines.get(key)
        if deadline is not None and self._clock() >= deadline:
            self._lists.pop(key, None)
            del self._deadlines[key]
        return key in self._lists

    # server-side commands (each runs atomically)
    def _delete(self, key: str) -> int:
        existed = self._alive(key)
        self._lists.pop(key, None)
        self._deadlines.pop(key, None)
        return int(existed)

    def _rpush(self, key: str, values: list[str]) -> int:
        self._alive(key)
        self._lists.setdefault(key, []).extend(values)
        return len(self._lists[key])

    def _expireat(self, key: str, when: float) -> bool:
        if not self._alive(key):
            return False
        self._deadlines[key] = when
        return True

    def _replace_if_exists(self, key: str, values: list[str], when: float | None) -> bool:
        """What a small Lua script does in one EVAL: replace the list only if the key is live."""
        if not self._alive(key):
            return False
        self._lists[key] = list(values)
        if when is None:
            self._deadlines.pop(key, None)
        else:
            self._deadlines[key] = when
        return True

    # client API
    async def lrange(self, key: str) -> list[str]:
        await self._round_trip()
        return list(self._lists[key]) if self._alive(key) else []

    async def delete(self, key: str) -> int:
        await self._round_trip()
        return self._delete(key)

    async def eval_replace_if_exists(self, key: str, values: list[str], when: float | None) -> bool:
        await self._round_trip()
        return self._replace_if_exists(key, values, when)

    def pipeline(self, transaction: bool = True) -> _FakePipeline:
        return _FakePipeline(self, transaction)


class _FakePipeline:
    def __init__(self, redis: _FakeAsyncRedis, transaction: bool) -> None:
        self._redis = redis
        self._transaction = transaction
        self._queued: list[tuple[Any, tuple[Any, ...]]] = []

    def delete(self, key: str) -> None:
        self._queued.append((self._redis._delete, (key,)))

    def rpush(self, key: str, *values: str) -> None:
        self._queued.append((self._redis._rpush, (key, list(values))))

    def expireat(self, key: str, when: float) -> None:
        self._queued.append((self._redis._expireat, (key, when)))

    async def execute(self) -> list[Any]:
        results = []
        if self._transaction:  # MULTI ... EXEC: the server runs the block without interleaving
            await self._redis._round_trip()
            results = [command(*args) for command, args in self._queued]
        else:  # plain pipelining: other clients' commands may run between ours
            for command, args in self._queued:
                await self._redis._round_trip()
                results.append(command(*args))
        self._queued.clear()
        return results


class AsyncListPipelineManager:
    """Bug: ``store`` rewrites the Redis list with ``pipeline(transaction=False)`` (DEL, RPUSH,
    EXPIREAT), so concurrent tasks' commands interleave with it (async redis-py list layout).
    """

    BREAKS = ("MM-ASYNC-002",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self._redis = _FakeAsyncRedis(self.clock)

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"wm:{_slot_name(request)}"

    async def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        key = self._key(request)
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(key)
        pipe.rpush(key, *texts)
        if self.ttl is not None:
            pipe.expireat(key, self.clock() + self.ttl)
        await pipe.execute()
        return key

    async def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        return _shown(await self._redis.lrange(self._key(request)))

    async def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        when = None if self.ttl is None else self.clock() + self.ttl
        await self._redis.eval_replace_if_exists(self._key(request), texts, when)

    async def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        await self._redis.delete(self._key(request))


# --------------------------------------------------------------------------- 10. atomicity


class InPlaceUpdateSQLiteManager:
    """Bug: ``update`` rewrites the item rows in place, row by row, and commits at the end with no
    rollback on error, so a row that fails to encode leaves earlier rows changed (SQL table design).
    """

    BREAKS = ("MM-FID-003", "MM-ERR-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self.clock = validate_clock(clock)
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _live(self, slot: str) -> bool:
        row = self._conn.execute("SELECT expires FROM slots WHERE slot = ?", (slot,)).fetchone()
        return row is not None and (row[0] is None or self.clock() < row[0])

    def _expires(self) -> float | None:
        return None if self.ttl is None else self.clock() + self.ttl

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = _texts(request, "store")
        slot = _slot_name(request)
        metadata = _json(request.metadata or {})
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM items WHERE slot = ?", (slot,))
            self._conn.execute(
                "INSERT OR REPLACE INTO slots (slot, expires, metadata) VALUES (?, ?, ?)",
                (slot, self._expires(), metadata),
            )
            self._conn.executemany(
                "INSERT INTO items (slot, pos, text) VALUES (?, ?, ?)",
                [(slot, pos, text) for pos, text in enumerate(items)],
            )
        return slot

    def retrieve(self, input: Any) -> list[Any]:
        request = as_memory_input(input)
        slot = _slot_name(request)
        with self._lock:
            if not self._live(slot):
                return []
            rows = self._conn.execute(
                "SELECT text FROM items WHERE slot = ? ORDER BY pos", (slot,)
            ).fetchall()
        return _shown(row[0] for row in rows)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = _texts(request, "update")
        slot = _slot_name(request)
        metadata = None if request.metadata is None else _json(request.metadata)
        with self._lock:
            if not self._live(slot):
                return
            (count,) = self._conn.execute(
                "SELECT COUNT(*) FROM items WHERE slot = ?", (slot,)
            ).fetchone()
            for pos, text in enumerate(items):
                if pos < count:
                    self._conn.execute(
                        "UPDATE items SET text = ? WHERE slot = ? AND pos = ?", (text, slot, pos)
                    )
                else:
                    self._conn.execute(
                        "INSERT INTO items (slot, pos, text) VALUES (?, ?, ?)", (slot, pos, text)
                    )
            self._conn.execute("DELETE FROM items WHERE slot = ? AND pos >= ?", (slot, len(items)))
            self._conn.execute(
                "UPDATE slots SET expires = ?, metadata = COALESCE(?, metadata) WHERE slot = ?",
                (self._expires(), metadata, slot),
            )
            self._conn.commit()

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        slot = _slot_name(request)
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM items WHERE slot = ?", (slot,))
            self._conn.execute("DELETE FROM slots WHERE slot = ?", (slot,))


HELDOUT: tuple[type, ...] = (
    ItemBudgetCacheManager,
    BatchedInsertSQLiteManager,
    ScanDeleteRedisManager,
    CallerTypeKeyManager,
    ZeroCopyManager,
    TimingWheelManager,
    RollingSessionRedisManager,
    StripedDocumentManager,
    AsyncListPipelineManager,
    InPlaceUpdateSQLiteManager,
)
