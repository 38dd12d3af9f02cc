"""Correct managers of different designs, none of them tuned to the suite.

Each follows a way real conversation-memory managers and caches are built (copy-on-write maps,
heaps of deadlines, hashed keys, SQL rows, Redis records, cachetools caches, document stores,
async key-value clients) and honours every MUST and SHOULD of the catalogue. The Redis stand-ins
below are shared with the broken corpus in ``realistic.py``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import heapq
import itertools
import json
import math
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any, NamedTuple, TypeVar

import cachetools
from memspec import IMemoryInput, IWorkingMemory, as_memory_input
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

T = TypeVar("T")

#: Expired slots removed per write on the hot path (amortised O(log n) clean-up).
PURGE_BATCH = 16


# ----------------------------------------------------------------------------- helpers


def texts_of(request: IMemoryInput, operation: str) -> tuple[str, ...]:
    """The texts a store or update writes; ``ValueError`` when ``data`` is missing or empty.

    Only that check, as a manager written outside memspec makes it: ``memspec.require_data``
    also refuses lone surrogates, which would hide the bugs of managers that half-write them.
    """
    if not request.data:
        raise ValueError(f"{operation} needs a non-empty 'data' list of IWorkingMemory items")
    return tuple([item.working_memory for item in request.data])


def items_of(texts: Iterable[str]) -> list[IWorkingMemory]:
    """New items for the caller, one per stored text."""
    return [IWorkingMemory(working_memory=text) for text in texts]


def plain(value: Any) -> Any:
    """A private, JSON-shaped copy: every mapping (a ``MappingProxyType`` or any other) becomes
    a ``dict`` and every list or tuple a ``list``; other values are kept as they are."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def metadata_of(request: IMemoryInput) -> dict[str, Any]:
    """A private copy of the input's metadata, ``{}`` when it gives none."""
    return plain(request.metadata) if request.metadata else {}


# ----------------------------------------------------------------------------- Redis stand-ins


class RedisServerStub:
    """One Redis server as a client sees it, in process: every command is atomic, keys expire.

    Values are ``str`` (``decode_responses=True``), lists of ``str`` or hashes of ``str``.
    Expiry is lazy (a read of an expired key deletes it) plus active (a heap of deadlines,
    a few keys per write), like the real server. ``eval`` runs a function atomically, as a
    Lua script or a ``MULTI``/``EXEC`` block would; time is frozen inside it, as in Lua.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, Any] = {}
        self._deadlines: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._frozen: float | None = None
        self.lock = threading.RLock()

    # -- internals, called with the lock held ------------------------------------------

    def _now(self) -> float:
        return self._clock() if self._frozen is None else self._frozen

    def _live(self, key: str, now: float) -> bool:
        deadline = self._deadlines.get(key)
        if deadline is not None and now >= deadline:
            del self._deadlines[key]
            self._values.pop(key, None)
            return False
        return key in self._values

    def _expire_some(self, now: float) -> None:
        heap = self._heap
        budget = PURGE_BATCH
        while budget and heap and heap[0][0] <= now:
            budget -= 1
            _, key = heapq.heappop(heap)
            self._live(key, now)
        if len(heap) > 2 * len(self._deadlines) + 1024:
            self._heap = [(deadline, key) for key, deadline in self._deadlines.items()]
            heapq.heapify(self._heap)

    def _set_deadline(self, key: str, deadline: float | None) -> None:
        if deadline is None:
            self._deadlines.pop(key, None)
        else:
            self._deadlines[key] = deadline
            heapq.heappush(self._heap, (deadline, key))

    def _drop(self, key: str) -> None:
        self._values.pop(key, None)
        self._deadlines.pop(key, None)

    # -- commands ------------------------------------------------------------------------

    def set(
        self,
        key: str,
        value: str,
        *,
        ex: float | None = None,
        exat: float | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
    ) -> bool:
        """``SET key value [EX s | EXAT t | KEEPTTL] [NX | XX]``; seconds may be fractional."""
        with self.lock:
            now = self._now()
            self._expire_some(now)
            exists = self._live(key, now)
            if (nx and exists) or (xx and not exists):
                return False
            self._values[key] = value
            if not (keepttl and exists):
                if exat is not None:
                    self._set_deadline(key, exat)
                else:
                    self._set_deadline(key, None if ex is None else now + ex)
            return True

    def get(self, key: str) -> Any:
        with self.lock:
            return self._values.get(key) if self._live(key, self._now()) else None

    def getex(self, key: str, *, ex: float | None = None) -> Any:
        """``GETEX key EX s``: read and set a new expiry."""
        with self.lock:
            now = self._now()
            if not self._live(key, now):
                return None
            if ex is not None:
                self._set_deadline(key, now + ex)
            return self._values[key]

    def exists(self, key: str) -> bool:
        with self.lock:
            return self._live(key, self._now())

    def delete(self, *keys: str) -> int:
        with self.lock:
            now = self._now()
            removed = 0
            for key in keys:
                if self._live(key, now):
                    removed += 1
                self._drop(key)
            return removed

    def expire(self, key: str, ex: float) -> bool:
        with self.lock:
            now = self._now()
            if not self._live(key, now):
                return False
            self._set_deadline(key, now + ex)
            return True

    def rpush(self, key: str, *values: str) -> int:
        with self.lock:
            now = self._now()
            self._expire_some(now)
            if not self._live(key, now):
                self._values[key] = []
            items: list[str] = self._values[key]
            items.extend(values)
            return len(items)

    def lrange(self, key: str, start: int, stop: int) -> list[str]:
        with self.lock:
            if not self._live(key, self._now()):
                return []
            items: list[str] = self._values[key]
            return items[start : None if stop == -1 else stop + 1]

    def ltrim(self, key: str, start: int, stop: int) -> None:
        with self.lock:
            if self._live(key, self._now()):
                items: list[str] = self._values[key]
                kept = items[start : None if stop == -1 else stop + 1]
                if kept:
                    self._values[key] = kept
                else:
                    self._drop(key)

    def hset(self, key: str, mapping: dict[str, str]) -> int:
        with self.lock:
            now = self._now()
            self._expire_some(now)
            if not self._live(key, now):
                self._values[key] = {}
            fields: dict[str, str] = self._values[key]
            added = len(mapping.keys() - fields.keys())
            fields.update(mapping)
            return added

    def hgetall(self, key: str) -> dict[str, str]:
        with self.lock:
            if not self._live(key, self._now()):
                return {}
            return dict(self._values[key])

    def scan_iter(self, match: str) -> list[str]:
        """``SCAN 0 MATCH pattern`` to the end: the live keys matching a glob pattern."""
        with self.lock:
            now = self._now()
            return [
                key
                for key in list(self._values)
                if fnmatch.fnmatchcase(key, match) and self._live(key, now)
            ]

    def eval(self, script: Callable[[RedisServerStub], T]) -> T:
        """Run ``script(server)`` atomically with time frozen, as a Lua script runs."""
        with self.lock:
            outer = self._frozen
            self._frozen = self._clock() if outer is None else outer
            try:
                return script(self)
            finally:
                self._frozen = outer


class AsyncRedisStub:
    """An asyncio client of a :class:`RedisServerStub`: each command is one network round trip."""

    def __init__(self, server: RedisServerStub) -> None:
        self.server = server

    async def _round_trip(self) -> None:
        await asyncio.sleep(0)

    async def get(self, key: str) -> Any:
        await self._round_trip()
        return self.server.get(key)

    async def set(self, key: str, value: str, **options: Any) -> bool:
        await self._round_trip()
        return self.server.set(key, value, **options)

    async def delete(self, *keys: str) -> int:
        await self._round_trip()
        return self.server.delete(*keys)

    async def rpush(self, key: str, *values: str) -> int:
        await self._round_trip()
        return self.server.rpush(key, *values)

    async def lrange(self, key: str, start: int, stop: int) -> list[str]:
        await self._round_trip()
        return self.server.lrange(key, start, stop)

    async def expire(self, key: str, ex: float) -> bool:
        await self._round_trip()
        return self.server.expire(key, ex)

    async def eval(self, script: Callable[[RedisServerStub], T]) -> T:
        await self._round_trip()
        return self.server.eval(script)


# ----------------------------------------------------------------------------- dict + heap


class _Record(NamedTuple):
    texts: tuple[str, ...]
    metadata: dict[str, Any]
    expires: float
    seq: int


class HeapExpiryManager:
    """A dict of immutable records under one lock; a min-heap of (deadline, write number, key)
    finds expired slots in O(log n), and heap entries left behind by later writes are skipped
    when they surface (lazy deletion)."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._slots: MutableMapping[str, _Record] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()

    # -- hooks -----------------------------------------------------------------------------

    def _request(self, input: Any) -> IMemoryInput:
        return as_memory_input(input)

    def _key(self, request: IMemoryInput) -> str:
        # The memory type never holds ":" and comes first, so the key is unique per slot.
        return f"{request.memory_type.value}:{request.conversation_id}"

    def _texts(self, request: IMemoryInput, operation: str) -> tuple[str, ...]:
        return texts_of(request, operation)

    def _deadline(self, now: float) -> float:
        return math.inf if self.ttl is None else now + self.ttl

    def _expired(self, expires: float, now: float) -> bool:
        return now >= expires

    def _purge(self, now: float) -> None:
        heap = self._heap
        budget = PURGE_BATCH
        while budget and heap and self._expired(heap[0][0], now):
            budget -= 1
            _, seq, key = heapq.heappop(heap)
            record = self._slots.get(key)
            if record is not None and record.seq == seq:
                del self._slots[key]

    # -- internals, with the lock held -----------------------------------------------------

    def _write(
        self, key: str, texts: tuple[str, ...], metadata: dict[str, Any], now: float
    ) -> None:
        expires = self._deadline(now)
        seq = next(self._seq)
        self._slots[key] = _Record(texts, metadata, expires, seq)
        if expires != math.inf:
            heapq.heappush(self._heap, (expires, seq, key))
            if len(self._heap) > 2 * len(self._slots) + 1024:
                self._heap = [
                    (r.expires, r.seq, k) for k, r in self._slots.items() if r.expires != math.inf
                ]
                heapq.heapify(self._heap)

    def _live(self, key: str, now: float) -> _Record | None:
        record = self._slots.get(key)
        if record is None or self._expired(record.expires, now):
            return None
        return record

    # -- the four operations -----------------------------------------------------------------

    def store(self, input: Any) -> str:
        request = self._request(input)
        texts = self._texts(request, "store")
        metadata = metadata_of(request)
        key = self._key(request)
        with self._lock:
            now = self._clock()
            self._purge(now)
            self._write(key, texts, metadata, now)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        key = self._key(request)
        with self._lock:
            record = self._live(key, self._clock())
        return [] if record is None else items_of(record.texts)

    def update(self, input: Any) -> None:
        request = self._request(input)
        texts = self._texts(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        with self._lock:
            now = self._clock()
            self._purge(now)
            record = self._live(key, now)
            if record is None:
                return
            self._write(key, texts, record.metadata if given is None else given, now)

    def delete(self, input: Any) -> None:
        request = self._request(input)
        key = self._key(request)
        with self._lock:
            self._slots.pop(key, None)


class Sha256KeyManager(HeapExpiryManager):
    """Slots keyed by the full SHA-256 digest of (memory type, conversation ID), as managers do
    that keep IDs out of their key space; 256 bits make a collision practically impossible."""

    def _key(self, request: IMemoryInput) -> str:
        digest = hashlib.sha256(request.memory_type.value.encode("ascii") + b"\x00")
        digest.update(request.conversation_id.encode("utf-8", "surrogatepass"))
        return "sha256:" + digest.hexdigest()


# ----------------------------------------------------------------------------- copy-on-write


_SHARDS = 4096


class CopyOnWriteManager:
    """Copy-on-write shards: readers take no lock and read a dict that is never mutated once
    published; writers, serialised by one lock, copy the shard (dropping expired records),
    change the copy and publish it."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = math.inf if self.ttl is None else self.ttl
        self._shards: list[dict[str, tuple[tuple[str, ...], dict[str, Any], float]]] = [
            {} for _ in range(_SHARDS)
        ]
        self._writer: Any = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def _publish(self, index: int, key: str, record: Any, now: float) -> None:
        shard = {k: r for k, r in self._shards[index].items() if now < r[2]}
        if record is None:
            shard.pop(key, None)
        else:
            shard[key] = record
        self._shards[index] = shard

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = texts_of(request, "store")
        metadata = metadata_of(request)
        key = self._key(request)
        index = hash(key) % _SHARDS
        with self._writer:
            now = self._clock()
            self._publish(index, key, (texts, metadata, now + self._lifetime), now)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        key = self._key(request)
        record = self._shards[hash(key) % _SHARDS].get(key)
        if record is None or self._clock() >= record[2]:
            return []
        return items_of(record[0])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        index = hash(key) % _SHARDS
        with self._writer:
            now = self._clock()
            current = self._shards[index].get(key)
            if current is None or now >= current[2]:
                return
            metadata = current[1] if given is None else given
            self._publish(index, key, (texts, metadata, now + self._lifetime), now)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = self._key(request)
        index = hash(key) % _SHARDS
        with self._writer:
            if key in self._shards[index]:
                self._publish(index, key, None, self._clock())


# ----------------------------------------------------------------------------- purge with re-check


class RecheckPurgeManager(HeapExpiryManager):
    """Keeps the critical section short: which slots to purge is decided outside the lock, and
    each is checked again under the lock before it is removed. Reads take no lock."""

    def _purge(self, now: float) -> None:
        pass  # replaced by the two-phase reap below

    def _due(self, now: float) -> list[str]:
        heap = self._heap
        due: list[str] = []
        while len(due) < PURGE_BATCH and heap and self._expired(heap[0][0], now):
            due.append(heapq.heappop(heap)[2])
        return due

    def _reap(self, due: list[str]) -> None:
        now = self._clock()
        doomed = []
        for key in due:
            record = self._slots.get(key)
            if record is not None and self._expired(record.expires, now):
                doomed.append(key)
        if doomed:
            self._remove(doomed)

    def _remove(self, doomed: list[str]) -> None:
        with self._lock:
            now = self._clock()
            for key in doomed:
                record = self._slots.get(key)
                if record is not None and self._expired(record.expires, now):
                    del self._slots[key]

    def store(self, input: Any) -> str:
        request = self._request(input)
        texts = self._texts(request, "store")
        metadata = metadata_of(request)
        key = self._key(request)
        with self._lock:
            now = self._clock()
            self._write(key, texts, metadata, now)
            due = self._due(now)
        if due:
            self._reap(due)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        record = self._slots.get(self._key(request))
        if record is None or self._expired(record.expires, self._clock()):
            return []
        return items_of(record.texts)


# ----------------------------------------------------------------------------- SQL rows


def _blob(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(blob: bytes) -> str:
    return blob.decode("utf-8", "surrogatepass")


class SqliteRowsManager:
    """An embedded SQL store: one row per slot and one row per item, in an in-memory SQLite
    database shared by threads (``check_same_thread=False``) under a lock, each write one
    transaction. Strings are stored as UTF-8 BLOBs (surrogates passed through)."""

    _SCHEMA = """
        CREATE TABLE slots (
            id INTEGER PRIMARY KEY,
            memory_type TEXT NOT NULL,
            conversation_id BLOB NOT NULL,
            metadata TEXT NOT NULL,
            expires_at REAL,
            UNIQUE (memory_type, conversation_id)
        );
        CREATE INDEX slots_expiry ON slots (expires_at) WHERE expires_at IS NOT NULL;
        CREATE TABLE items (
            slot_id INTEGER NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            text BLOB NOT NULL,
            PRIMARY KEY (slot_id, position)
        ) WITHOUT ROWID;
    """

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(self._SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _deadline(self, now: float) -> float | None:
        return None if self.ttl is None else now + self.ttl

    def _purge(self, now: float) -> None:
        self._db.execute(
            "DELETE FROM slots WHERE id IN (SELECT id FROM slots WHERE expires_at <= ?"
            " ORDER BY expires_at LIMIT ?)",
            (now, PURGE_BATCH),
        )

    def _find(self, request: IMemoryInput, now: float) -> int | None:
        row = self._db.execute(
            "SELECT id, expires_at FROM slots WHERE memory_type = ? AND conversation_id = ?",
            (request.memory_type.value, _blob(request.conversation_id)),
        ).fetchone()
        if row is None or (row[1] is not None and now >= row[1]):
            return None
        return int(row[0])

    def _write_items(self, slot_id: int, texts: tuple[str, ...]) -> None:
        self._db.execute("DELETE FROM items WHERE slot_id = ?", (slot_id,))
        self._db.executemany(
            "INSERT INTO items (slot_id, position, text) VALUES (?, ?, ?)",
            [(slot_id, position, _blob(text)) for position, text in enumerate(texts)],
        )

    def _read_items(self, slot_id: int) -> list[str]:
        rows = self._db.execute(
            "SELECT text FROM items WHERE slot_id = ? ORDER BY position", (slot_id,)
        )
        return [_text(row[0]) for row in rows]

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = texts_of(request, "store")
        metadata = json.dumps(metadata_of(request))
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            slot_id = self._db.execute(
                "INSERT INTO slots (memory_type, conversation_id, metadata, expires_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (memory_type, conversation_id)"
                " DO UPDATE SET metadata = excluded.metadata, expires_at = excluded.expires_at"
                " RETURNING id",
                (
                    request.memory_type.value,
                    _blob(request.conversation_id),
                    metadata,
                    self._deadline(now),
                ),
            ).fetchall()[0][0]
            self._write_items(slot_id, texts)
        return f"{request.memory_type.value}:{request.conversation_id}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            slot_id = self._find(request, self._clock())
            return [] if slot_id is None else items_of(self._read_items(slot_id))

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        metadata = None if request.metadata is None else json.dumps(metadata_of(request))
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            slot_id = self._find(request, now)
            if slot_id is None:
                return
            self._db.execute(
                "UPDATE slots SET metadata = COALESCE(?, metadata), expires_at = ? WHERE id = ?",
                (metadata, self._deadline(now), slot_id),
            )
            self._write_items(slot_id, texts)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock, self._db:
            self._db.execute(
                "DELETE FROM slots WHERE memory_type = ? AND conversation_id = ?",
                (request.memory_type.value, _blob(request.conversation_id)),
            )


# ----------------------------------------------------------------------------- Redis JSON


class RedisJSONManager:
    """The Redis layout of most production managers: one string key per slot holding a JSON
    record ``{"data": [...], "metadata": {...}}``, written with ``SET ... EX``; ``update`` is one
    atomic script (``SET ... XX`` keeping the old metadata when none is given)."""

    prefix = "memspec"

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._redis = RedisServerStub(self._clock)

    def _request(self, input: Any) -> IMemoryInput:
        return as_memory_input(input)

    def _key(self, request: IMemoryInput, input: Any = None) -> str:
        """The slot's Redis key; ``input`` is the caller's own argument, as given."""
        return f"{self.prefix}:{request.memory_type.value}:{request.conversation_id}"

    def _encode(self, texts: tuple[str, ...], metadata: dict[str, Any]) -> str:
        return json.dumps({"data": list(texts), "metadata": plain(metadata)})

    def _decode(self, payload: str) -> list[str]:
        return list(json.loads(payload)["data"])

    def store(self, input: Any) -> str:
        request = self._request(input)
        payload = self._encode(texts_of(request, "store"), request.metadata or {})
        key = self._key(request, input)
        self._redis.set(key, payload, ex=self.ttl)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        payload = self._redis.get(self._key(request, input))
        return [] if payload is None else items_of(self._decode(payload))

    def _update_script(
        self, key: str, texts: tuple[str, ...], metadata: dict[str, Any] | None
    ) -> Callable[[RedisServerStub], None]:
        given = None if metadata is None else json.loads(json.dumps(plain(metadata)))

        def script(redis: RedisServerStub) -> None:
            old = redis.get(key)
            if old is None:
                return
            kept = json.loads(old)["metadata"] if given is None else given
            redis.set(key, self._encode(texts, kept), ex=self.ttl, xx=True)

        return script

    def update(self, input: Any) -> None:
        request = self._request(input)
        texts = texts_of(request, "update")
        self._redis.eval(self._update_script(self._key(request, input), texts, request.metadata))

    def delete(self, input: Any) -> None:
        request = self._request(input)
        self._redis.delete(self._key(request, input))


class AsyncKVManager:
    """An asyncio manager over an async Redis-style client: every operation is exactly one
    awaited command (``SET``, ``GET``, an atomic script, ``DEL``), so tasks interleave only
    between whole operations."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._kv = AsyncRedisStub(RedisServerStub(self._clock))

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    @staticmethod
    def _encode(texts: tuple[str, ...], metadata: dict[str, Any]) -> str:
        return json.dumps({"data": list(texts), "metadata": plain(metadata)})

    async def store(self, input: Any) -> str:
        request = as_memory_input(input)
        payload = self._encode(texts_of(request, "store"), request.metadata or {})
        key = self._key(request)
        await self._kv.set(key, payload, ex=self.ttl)
        return key

    async def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        payload = await self._kv.get(self._key(request))
        return [] if payload is None else items_of(json.loads(payload)["data"])

    async def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)

        def script(redis: RedisServerStub) -> None:
            old = redis.get(key)
            if old is not None:
                kept = json.loads(old)["metadata"] if given is None else given
                redis.set(key, self._encode(texts, kept), ex=self.ttl, xx=True)

        await self._kv.eval(script)

    async def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        await self._kv.delete(self._key(request))


# ----------------------------------------------------------------------------- cachetools


class TTLCacheManager:
    """A ``cachetools.TTLCache`` under a lock, timed by the injected clock, with a ``maxsize``
    no deployment reaches (``sys.maxsize``), so it never evicts a live slot; time is frozen
    for each operation with the cache's own timer context."""

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        maxsize: int = sys.maxsize,
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._cache: cachetools.TTLCache[str, tuple[tuple[str, ...], dict[str, Any]]]
        self._cache = cachetools.TTLCache(
            maxsize=maxsize, ttl=math.inf if self.ttl is None else self.ttl, timer=self._clock
        )
        self._lock = threading.Lock()

    def _request(self, input: Any) -> IMemoryInput:
        return as_memory_input(input)

    def _key(self, request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def store(self, input: Any) -> str:
        request = self._request(input)
        record = (texts_of(request, "store"), metadata_of(request))
        key = self._key(request)
        with self._lock, self._cache.timer:
            self._cache[key] = record
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        key = self._key(request)
        with self._lock, self._cache.timer:
            record = self._cache.get(key)
        return [] if record is None else items_of(record[0])

    def update(self, input: Any) -> None:
        request = self._request(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        with self._lock, self._cache.timer:
            current = self._cache.get(key)
            if current is not None:
                self._cache[key] = (texts, current[1] if given is None else given)

    def delete(self, input: Any) -> None:
        request = self._request(input)
        key = self._key(request)
        with self._lock, self._cache.timer:
            self._cache.pop(key, None)


# ----------------------------------------------------------------------------- document store


class DocumentStoreManager:
    """A document store: one JSON document per conversation,
    ``{"_id": id, "memories": {type: {"data": [{"working_memory": ...}], "metadata": {...},
    "expires_at": t, "_rev": n}}}``, under a lock, with a heap of deadlines for clean-up."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._docs: MutableMapping[str, dict[str, Any]] = {}
        self._heap: list[tuple[float, int, str, str]] = []
        self._revs = itertools.count()
        self._lock = threading.RLock()

    # -- hooks -----------------------------------------------------------------------------

    def _doc_id(self, request: IMemoryInput) -> str:
        return request.conversation_id

    def _doc_items(self, input: Any, request: IMemoryInput, operation: str) -> list[Any]:
        return [{"working_memory": text} for text in texts_of(request, operation)]

    def _record(
        self, items: list[Any], metadata: dict[str, Any], expires: float | None, rev: int
    ) -> dict[str, Any]:
        return {"data": items, "metadata": metadata, "expires_at": expires, "_rev": rev}

    def _metadata_of_record(self, record: dict[str, Any]) -> dict[str, Any]:
        metadata: dict[str, Any] = record["metadata"]
        return metadata

    def _expires_of(self, record: dict[str, Any]) -> float | None:
        expires: float | None = record["expires_at"]
        return expires

    def _saved(self, doc_id: str) -> None:
        """Called after a document changed."""

    # -- internals, with the lock held -----------------------------------------------------

    def _get(self, doc_id: str, memory_type: str, now: float) -> dict[str, Any] | None:
        doc = self._docs.get(doc_id)
        record = None if doc is None else doc["memories"].get(memory_type)
        if record is None:
            return None
        expires = self._expires_of(record)
        return record if expires is None or now < expires else None

    def _put(self, doc_id: str, memory_type: str, record: dict[str, Any]) -> None:
        doc = self._docs.get(doc_id)
        if doc is None:
            doc = self._docs[doc_id] = {"_id": doc_id, "memories": {}}
        doc["memories"][memory_type] = record
        expires = self._expires_of(record)
        if expires is not None:
            heapq.heappush(self._heap, (expires, record["_rev"], doc_id, memory_type))
        self._saved(doc_id)

    def _remove(self, doc_id: str, memory_type: str) -> None:
        doc = self._docs.get(doc_id)
        if doc is not None and doc["memories"].pop(memory_type, None) is not None:
            if not doc["memories"]:
                del self._docs[doc_id]
            self._saved(doc_id)

    def _purge(self, now: float) -> None:
        heap = self._heap
        budget = PURGE_BATCH
        while budget and heap and heap[0][0] <= now:
            budget -= 1
            _, rev, doc_id, memory_type = heapq.heappop(heap)
            doc = self._docs.get(doc_id)
            record = None if doc is None else doc["memories"].get(memory_type)
            if record is not None and record.get("_rev") == rev:
                self._remove(doc_id, memory_type)

    def _deadline(self, now: float) -> float | None:
        return None if self.ttl is None else now + self.ttl

    # -- the four operations -----------------------------------------------------------------

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = self._doc_items(input, request, "store")
        metadata = metadata_of(request)
        doc_id = self._doc_id(request)
        memory_type = request.memory_type.value
        with self._lock:
            now = self._clock()
            self._purge(now)
            record = self._record(items, metadata, self._deadline(now), next(self._revs))
            self._put(doc_id, memory_type, record)
        return f"{memory_type}/{request.conversation_id}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            record = self._get(self._doc_id(request), request.memory_type.value, self._clock())
            if record is None:
                return []
            return items_of([item["working_memory"] for item in record["data"]])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = self._doc_items(input, request, "update")
        given = None if request.metadata is None else metadata_of(request)
        doc_id = self._doc_id(request)
        memory_type = request.memory_type.value
        with self._lock:
            now = self._clock()
            self._purge(now)
            current = self._get(doc_id, memory_type, now)
            if current is None:
                return
            metadata = self._metadata_of_record(current) if given is None else given
            record = self._record(items, metadata, self._deadline(now), next(self._revs))
            self._put(doc_id, memory_type, record)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._remove(self._doc_id(request), request.memory_type.value)


DESIGNS: tuple[type, ...] = (
    CopyOnWriteManager,
    RecheckPurgeManager,
    Sha256KeyManager,
    SqliteRowsManager,
    AsyncKVManager,
    HeapExpiryManager,
    RedisJSONManager,
    TTLCacheManager,
    DocumentStoreManager,
)
