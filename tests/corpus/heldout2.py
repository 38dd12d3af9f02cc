"""A second held-out corpus: ten managers written the way real projects write them, each with
one realistic bug that breaks at least one MUST requirement of the catalogue.

The set was written without looking at how the conformance suite checks anything, so the share
of it that the suite catches is an honest measure of the suite's power. Each design follows
real code (cachetools, pymemcache and memcached, LangGraph's Redis checkpointer, the Arshai
framework's managers, MongoDB TTL documents, LangChain's chat histories, SQLite chat tables,
mem0-style memory IDs); the docstring of each class names it and states the bug. ``BREAKS``
lists the MUST requirements the bug violates by a plain reading of their statements, and
``RACE = True`` marks a bug that shows only under concurrency.

Backends that are servers in real life (memcached, Redis, MongoDB) are simulated in process
with the semantics that matter for the bug; everything else about each manager is meant to be
correct: validation before any change, snapshots of the caller's data, expiry checked on every
read with the injected clock, lifetimes restarted by every write, one lock per operation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from memspec import (
    ConversationMemoryType,
    IMemoryInput,
    IWorkingMemory,
    as_memory_input,
    copy_metadata,
    require_data,
)
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

__all__ = [
    "HELDOUT2",
    "AsyncRedisCheckThenSetManager",
    "ConversationDocumentManager",
    "DuckTypedKeyManager",
    "LruTtlCacheManager",
    "MemcachedNoReplyManager",
    "MemoryIdDeleteManager",
    "RedisScanDeleteManager",
    "SQLClearThenAddManager",
    "SQLiteStringColumnManager",
    "SessionHistoryManager",
]


def _texts(request: IMemoryInput, operation: str) -> tuple[str, ...]:
    """The strings a store or update writes; ``ValueError`` when ``data`` is missing or empty."""
    return tuple(item.working_memory for item in require_data(request, operation))


def _lifetime(ttl: float | None) -> float:
    return math.inf if ttl is None else ttl


# --------------------------------------------------------------------------- 1. scale


class _TTLCache:
    """A cut-down ``cachetools.TTLCache``: values in least-recently-used order for eviction,
    expiry times in write order (one TTL for all, so write order is expiry order)."""

    def __init__(self, maxsize: int, ttl: float | None, timer: Clock) -> None:
        self.maxsize = maxsize
        self.timer = timer
        self._lifetime = _lifetime(ttl)
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._expires: OrderedDict[str, float] = OrderedDict()

    def expire(self, now: float) -> None:
        while self._expires:
            key, expires = next(iter(self._expires.items()))
            if now < expires:
                break
            del self._expires[key]
            del self._values[key]

    def __contains__(self, key: str) -> bool:
        expires = self._expires.get(key)
        return expires is not None and self.timer() < expires

    def get(self, key: str) -> Any:
        if key not in self:
            return None
        self._values.move_to_end(key)
        return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        now = self.timer()
        self.expire(now)
        self._values[key] = value
        self._values.move_to_end(key)
        self._expires.pop(key, None)
        self._expires[key] = now + self._lifetime
        while len(self._values) > self.maxsize:
            evicted, _ = self._values.popitem(last=False)
            del self._expires[evicted]

    def pop(self, key: str) -> None:
        self._values.pop(key, None)
        self._expires.pop(key, None)


class LruTtlCacheManager:
    """Slots in a ``cachetools.TTLCache(maxsize, ttl, timer=clock)``, the usual way to get TTL
    expiry in process (and Arshai's ``InMemoryManager`` with its ``max_entries=10000`` LRU bound).
    Bug: ``maxsize`` defaults to 65,536 ("plenty"), so the 65,537th live conversation silently
    evicts the least recently used live one."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-LIMIT-003",)

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        maxsize: int = 1 << 16,
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._cache = _TTLCache(maxsize, self.ttl, validate_clock(clock))
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        record = (_texts(request, "store"), copy_metadata(request.metadata) or {})
        key = self._key(request)
        with self._lock:
            self._cache[key] = record
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            record = self._cache.get(self._key(request))
        if record is None:
            return []
        return [IWorkingMemory(working_memory=text) for text in record[0]]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        with self._lock:
            current = self._cache.get(key)
            if current is None:
                return
            self._cache[key] = (texts, current[1] if given is None else given)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._cache.pop(self._key(request))


# --------------------------------------------------------------------------- 2. sizes

#: memcached's default item size limit (``-I 1m``), key and item header included.
_ITEM_SIZE_MAX = 1024 * 1024
_ITEM_HEADER = 48


class _MemcachedServer:
    """memcached's storage commands, in process. A SET too large for a slab is refused with
    ``SERVER_ERROR object too large for cache`` and, as memcached does to keep a stale value
    from outliving the failed write, the key's old item is unlinked."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[bytes, tuple[bytes, float]] = {}

    def set(self, key: bytes, value: bytes, exptime: int) -> bytes:
        if len(key) + len(value) + _ITEM_HEADER > _ITEM_SIZE_MAX:
            self._items.pop(key, None)
            return b"SERVER_ERROR object too large for cache"
        self._items[key] = (value, self._clock() + exptime if exptime else math.inf)
        return b"STORED"

    def get(self, key: bytes) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        if self._clock() >= item[1]:
            del self._items[key]
            return None
        return item[0]

    def delete(self, key: bytes) -> bytes:
        return b"DELETED" if self._items.pop(key, None) is not None else b"NOT_FOUND"


class _PymemcacheClient:
    """``pymemcache.Client`` as far as used here, with its ``default_noreply=True``: a storage
    command sent with noreply does not wait for the server's answer and returns ``True``."""

    def __init__(self, server: _MemcachedServer, default_noreply: bool = True) -> None:
        self._server = server
        self.default_noreply = default_noreply

    def set(self, key: str, value: bytes, expire: int = 0, noreply: bool | None = None) -> bool:
        reply = self._server.set(key.encode("ascii"), value, expire)
        if self.default_noreply if noreply is None else noreply:
            return True
        if reply.startswith(b"SERVER_ERROR"):
            raise RuntimeError(reply.decode())
        return reply == b"STORED"

    def get(self, key: str) -> bytes | None:
        return self._server.get(key.encode("ascii"))

    def delete(self, key: str, noreply: bool | None = None) -> bool:
        reply = self._server.delete(key.encode("ascii"))
        if self.default_noreply if noreply is None else noreply:
            return True
        return reply == b"DELETED"


class MemcachedNoReplyManager:
    """One memcached item per slot through pymemcache (hashed keys, JSON values, expiry checked
    client-side). Bug: pymemcache's ``default_noreply=True`` hides memcached's 1 MiB item limit,
    so a write whose JSON exceeds it is silently not stored, and memcached drops the old value.
    (Its author also listed ``MM-FID-002``, items of 1 MiB; its successor ``MM-FID-004`` asks
    for 256 KiB, which this manager keeps, so since spec 1.5.0 that one is not broken.)"""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-LIMIT-005",
        "MM-STORE-002",
        "MM-UPD-002",
    )

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._client = _PymemcacheClient(_MemcachedServer(self._clock))
        # memcached counts whole seconds; its own expiry is a backstop after the exact one.
        self._server_expire = 0 if self.ttl is None else math.ceil(self.ttl) + 1
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        # memcached keys are at most 250 bytes without spaces or control characters.
        name = f"{request.memory_type.value}\x00{request.conversation_id}"
        return "wm:" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()

    def _encode(self, request: IMemoryInput, texts: tuple[str, ...], metadata: Any) -> bytes:
        record = {
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type.value,
            "items": list(texts),
            "metadata": metadata,
            "expires_at": None if self.ttl is None else self._clock() + self.ttl,
        }
        return json.dumps(record).encode("ascii")

    def _live(self, request: IMemoryInput) -> dict[str, Any] | None:
        raw = self._client.get(self._key(request))
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        if (
            record["conversation_id"] != request.conversation_id
            or record["memory_type"] != request.memory_type.value
        ):
            return None
        expires_at = record["expires_at"]
        if expires_at is not None and self._clock() >= expires_at:
            return None
        return record

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._lock:
            self._client.set(key, self._encode(request, texts, metadata), self._server_expire)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            record = self._live(request)
        if record is None:
            return []
        return [IWorkingMemory(working_memory=text) for text in record["items"]]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        with self._lock:
            current = self._live(request)
            if current is None:
                return
            metadata = current["metadata"] if given is None else given
            value = self._encode(request, texts, metadata)
            self._client.set(self._key(request), value, self._server_expire)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._client.delete(self._key(request))


# --------------------------------------------------------------------------- 3. key derivation


class _RedisKeyspace:
    """The Redis commands used below (SET with an absolute expiry, GET, EXISTS, DEL, SCAN MATCH),
    in process. Keys sit in an indexed SQLite table, whose GLOB operator has Redis's glob syntax
    (``*``, ``?``, ``[...]``), so SCAN MATCH with a literal prefix is a range scan."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE keyspace (key TEXT PRIMARY KEY, value TEXT NOT NULL, expire_at REAL)"
            " WITHOUT ROWID"
        )
        self._db.execute("CREATE INDEX keyspace_expiry ON keyspace (expire_at)")

    def set(self, key: str, value: str, expire_at: float | None) -> None:
        now = self._clock()
        # Active expiry, a few keys per write (Redis samples; this takes the oldest).
        self._db.execute(
            "DELETE FROM keyspace WHERE key IN (SELECT key FROM keyspace WHERE expire_at <= ? "
            "ORDER BY expire_at LIMIT 16)",
            (now,),
        )
        self._db.execute(
            "INSERT INTO keyspace (key, value, expire_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, expire_at = excluded.expire_at",
            (key, value, expire_at),
        )

    def get(self, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM keyspace WHERE key = ? AND (expire_at IS NULL OR expire_at > ?)",
            (key, self._clock()),
        ).fetchone()
        return None if row is None else str(row[0])

    def exists(self, key: str) -> bool:
        return self.get(key) is not None

    def delete(self, *keys: str) -> int:
        removed = 0
        for key in keys:
            removed += self._db.execute("DELETE FROM keyspace WHERE key = ?", (key,)).rowcount
        return removed

    def scan_iter(self, match: str) -> Iterator[str]:
        rows = self._db.execute(
            "SELECT key FROM keyspace WHERE key GLOB ? AND (expire_at IS NULL OR expire_at > ?)",
            (match, self._clock()),
        ).fetchall()
        return (str(row[0]) for row in rows)


class RedisScanDeleteManager:
    """A slot is a family of Redis keys under ``wm:{type}:{conversation_id}`` (``:items``,
    ``:meta``), and delete removes the family with ``SCAN MATCH prefix:*``, as LangGraph's
    Redis checkpointers do in ``deleteThread`` (langgraphjs libs/checkpoint-redis). Bug: the
    conversation ID goes into the pattern unescaped, so deleting ``a`` (even never written) also
    deletes ``a:b``, ``*`` deletes every conversation, and an unmatched ``[`` deletes nothing."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-DEL-001", "MM-DEL-002", "MM-DEL-003", "MM-ISO-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._redis = _RedisKeyspace(self._clock)
        self._lock = threading.Lock()

    @staticmethod
    def _prefix(request: IMemoryInput) -> str:
        return f"wm:{request.memory_type.value}:{request.conversation_id}"

    def _expire_at(self) -> float | None:
        return None if self.ttl is None else self._clock() + self.ttl

    def _write(self, prefix: str, texts: tuple[str, ...], metadata: dict[str, Any]) -> None:
        items, meta = json.dumps(list(texts)), json.dumps(metadata)
        expire_at = self._expire_at()
        self._redis.set(f"{prefix}:items", items, expire_at)
        self._redis.set(f"{prefix}:meta", meta, expire_at)

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        prefix = self._prefix(request)
        with self._lock:
            self._write(prefix, texts, metadata)
        return prefix

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            raw = self._redis.get(f"{self._prefix(request)}:items")
        if raw is None:
            return []
        return [IWorkingMemory(working_memory=text) for text in json.loads(raw)]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        prefix = self._prefix(request)
        with self._lock:
            if not self._redis.exists(f"{prefix}:items"):
                return
            if given is None:
                raw = self._redis.get(f"{prefix}:meta")
                given = {} if raw is None else json.loads(raw)
            self._write(prefix, texts, given)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            keys = list(self._redis.scan_iter(f"{self._prefix(request)}:*"))
            if keys:
                self._redis.delete(*keys)


# --------------------------------------------------------------------------- 4. foreign inputs

_MEMORY_TYPES = frozenset(member.value for member in ConversationMemoryType)


def _field(source: object, name: str, default: Any = None) -> Any:
    if isinstance(source, Mapping):
        return source.get(name, default)
    return getattr(source, name, default)


class DuckTypedKeyManager:
    """Arshai's in-memory layout (key ``f"{prefix}:{memory_type}:{conversation_id}"``) behind a
    duck-typed fast path that validates inputs by hand instead of building a pydantic model.
    Bug: the key is formatted from the caller's own ``memory_type`` object, and a foreign
    ``(str, Enum)`` member formats as ``ClassName.MEMBER``: another slot than its value's."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-INPUT-002", "MM-MODEL-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self.prefix = "memory"
        self.storage: dict[str, tuple[tuple[str, ...], dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    def _get_key(self, input: object) -> str:
        if input is None:
            raise TypeError("expected an IMemoryInput, a mapping or an object with its fields")
        conversation_id = _field(input, "conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValueError(f"conversation_id must be a non-empty string: {conversation_id!r}")
        memory_type = _field(input, "memory_type", ConversationMemoryType.WORKING_MEMORY)
        if not isinstance(memory_type, str) or memory_type not in _MEMORY_TYPES:
            raise ValueError(f"unknown memory_type {memory_type!r}")
        return f"{self.prefix}:{memory_type}:{conversation_id}"

    @staticmethod
    def _texts(input: object, operation: str) -> tuple[str, ...]:
        data = _field(input, "data")
        if not data:
            raise ValueError(f"{operation} needs a non-empty 'data' list of IWorkingMemory items")
        texts = []
        for item in data:
            text = _field(item, "working_memory")
            if not isinstance(text, str):
                raise TypeError(f"working_memory must be a string, not {type(text).__name__}")
            texts.append(text)
        return tuple(texts)

    @staticmethod
    def _metadata(input: object) -> dict[str, Any] | None:
        metadata = _field(input, "metadata")
        if metadata is None:
            return None
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
        return copy_metadata(metadata)

    def _live(self, key: str) -> tuple[tuple[str, ...], dict[str, Any], float] | None:
        entry = self.storage.get(key)
        if entry is None or self._clock() >= entry[2]:
            return None
        return entry

    def store(self, input: Any) -> str:
        key = self._get_key(input)
        texts = self._texts(input, "store")
        metadata = self._metadata(input) or {}
        with self._lock:
            self.storage[key] = (texts, metadata, self._clock() + self._lifetime)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        key = self._get_key(input)
        with self._lock:
            entry = self._live(key)
        if entry is None:
            return []
        return [IWorkingMemory(working_memory=text) for text in entry[0]]

    def update(self, input: Any) -> None:
        key = self._get_key(input)
        texts = self._texts(input, "update")
        given = self._metadata(input)
        with self._lock:
            entry = self._live(key)
            if entry is None:
                return
            metadata = entry[1] if given is None else given
            self.storage[key] = (texts, metadata, self._clock() + self._lifetime)

    def delete(self, input: Any) -> None:
        key = self._get_key(input)
        with self._lock:
            self.storage.pop(key, None)


# --------------------------------------------------------------------------- 5. isolation / ttl


class ConversationDocumentManager:
    """One MongoDB-style document per conversation, ``{_id, slots: {memory_type: {...}},
    expireAt}``, with a TTL index on ``expireAt`` and reads filtering on it (the usual
    chat-session document with ``expireAfterSeconds: 0``). Bug: the lifetime lives on the
    document, so writing one memory type restarts (or revives) the conversation's other types."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-ISO-002", "MM-TTL-002", "MM-TTL-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._collection: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"slots.{request.memory_type.value}@{request.conversation_id}"

    def _find_live(self, conversation_id: str, now: float) -> dict[str, Any] | None:
        document = self._collection.get(conversation_id)
        if document is None:
            return None
        if now >= document["expireAt"]:
            # What the TTL monitor does on its next pass; an expired document is never revived.
            del self._collection[conversation_id]
            return None
        return document

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        slot = {
            "items": list(_texts(request, "store")),
            "metadata": copy_metadata(request.metadata) or {},
        }
        with self._lock:
            now = self._clock()
            document = self._find_live(request.conversation_id, now)
            if document is None:
                document = {"_id": request.conversation_id, "slots": {}}
                self._collection[request.conversation_id] = document
            document["slots"][request.memory_type.value] = slot
            document["expireAt"] = now + self._lifetime
        return self._key(request)

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            document = self._find_live(request.conversation_id, self._clock())
            slot = None if document is None else document["slots"].get(request.memory_type.value)
            texts = [] if slot is None else list(slot["items"])
        return [IWorkingMemory(working_memory=text) for text in texts]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = list(_texts(request, "update"))
        given = copy_metadata(request.metadata)
        with self._lock:
            now = self._clock()
            document = self._find_live(request.conversation_id, now)
            if document is None:
                return
            current = document["slots"].get(request.memory_type.value)
            if current is None:
                return
            metadata = current["metadata"] if given is None else given
            document["slots"][request.memory_type.value] = {"items": texts, "metadata": metadata}
            document["expireAt"] = now + self._lifetime

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            document = self._collection.get(request.conversation_id)
            if document is None:
                return
            document["slots"].pop(request.memory_type.value, None)
            if not document["slots"]:
                del self._collection[request.conversation_id]


# --------------------------------------------------------------------------- 6. threads


class _ChatHistory:
    """LangChain's ``InMemoryChatMessageHistory`` with working-memory items for messages:
    ``clear()`` rebinds the list and ``add_messages()`` adds the messages one at a time."""

    __slots__ = ("expires_at", "messages", "metadata")

    def __init__(self, expires_at: float) -> None:
        self.messages: list[IWorkingMemory] = []
        self.metadata: dict[str, Any] = {}
        self.expires_at = expires_at

    def add_message(self, message: IWorkingMemory) -> None:
        self.messages.append(message)

    def add_messages(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add_message(IWorkingMemory(working_memory=text))

    def clear(self) -> None:
        self.messages = []


class SessionHistoryManager:
    """The LangChain ``get_session_history`` pattern: a dict of per-slot chat histories, writers
    serialised by a lock, a write being ``history.clear()`` then ``history.add_messages(...)``.
    Bug: reads skip the lock ("a dict lookup is atomic"), so a reader racing a write can get the
    cleared list while it is refilled: an empty or partial slot that no write ever left."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-CONC-002",)
    RACE: ClassVar[bool] = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._histories: dict[str, _ChatHistory] = {}
        self._write_lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}/{request.conversation_id}"

    def _live(self, key: str, now: float) -> _ChatHistory | None:
        history = self._histories.get(key)
        if history is None or now >= history.expires_at:
            return None
        return history

    def _get_session_history(self, key: str, now: float) -> _ChatHistory:
        history = self._live(key, now)
        if history is None:
            history = _ChatHistory(now + self._lifetime)
            self._histories[key] = history
        return history

    @staticmethod
    def _replace(history: _ChatHistory, texts: tuple[str, ...], metadata: dict[str, Any]) -> None:
        history.clear()
        history.add_messages(texts)
        history.metadata = metadata

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._write_lock:
            now = self._clock()
            history = self._get_session_history(key, now)
            self._replace(history, texts, metadata)
            history.expires_at = now + self._lifetime
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        history = self._live(self._key(request), self._clock())
        if history is None:
            return []
        return [IWorkingMemory(working_memory=m.working_memory) for m in history.messages]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        with self._write_lock:
            now = self._clock()
            history = self._live(key, now)
            if history is None:
                return
            self._replace(history, texts, history.metadata if given is None else given)
            history.expires_at = now + self._lifetime

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._write_lock:
            self._histories.pop(self._key(request), None)


# --------------------------------------------------------------------------- 7. async tasks


class _AsyncRedis:
    """``redis.asyncio`` reduced to GET, SET with an absolute expiry, and DEL, in process: each
    command is one round trip (the task yields to the event loop) and is atomic on the server."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        await asyncio.sleep(0)
        entry = self._data.get(key)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            del self._data[key]
            return None
        return entry[0]

    async def set(self, key: str, value: str, expire_at: float) -> None:
        await asyncio.sleep(0)
        self._data[key] = (value, expire_at)

    async def delete(self, key: str) -> int:
        await asyncio.sleep(0)
        return 0 if self._data.pop(key, None) is None else 1


class AsyncRedisCheckThenSetManager:
    """Arshai's ``AsyncRedisMemoryManager`` done right for content (the whole list, metadata,
    ``SETEX`` restarting the lifetime) but keeping its ``update_async``: ``await get(key)``,
    then, if it existed, ``await setex(key, ...)``. Bug: a delete that runs between the two
    awaits is undone, because the SET recreates the key."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-ASYNC-002", "MM-CONC-003")
    RACE: ClassVar[bool] = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._redis = _AsyncRedis(self._clock)
        self.prefix = "memory"

    def _key(self, request: IMemoryInput) -> str:
        return f"{self.prefix}:{request.memory_type.value}:{request.conversation_id}"

    @staticmethod
    def _encode(texts: tuple[str, ...], metadata: dict[str, Any]) -> str:
        return json.dumps({"data": [{"working_memory": t} for t in texts], "metadata": metadata})

    async def store(self, input: Any) -> str:
        request = as_memory_input(input)
        value = self._encode(_texts(request, "store"), copy_metadata(request.metadata) or {})
        key = self._key(request)
        await self._redis.set(key, value, self._clock() + self._lifetime)
        return key

    async def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        raw = await self._redis.get(self._key(request))
        if raw is None:
            return []
        return [IWorkingMemory(**item) for item in json.loads(raw)["data"]]

    async def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        existing = await self._redis.get(key)
        if existing is None:
            return
        metadata = json.loads(existing)["metadata"] if given is None else given
        await self._redis.set(key, self._encode(texts, metadata), self._clock() + self._lifetime)

    async def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        await self._redis.delete(self._key(request))


# --------------------------------------------------------------------------- 8. failure atomicity

_MESSAGE_STORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS message_store (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS message_store_session ON message_store (session_id, id);
CREATE TABLE IF NOT EXISTS session_state (
    session_id TEXT PRIMARY KEY,
    expires_at REAL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_state_expiry ON session_state (expires_at);
"""


class SQLClearThenAddManager:
    """LangChain's ``SQLChatMessageHistory`` layout (a ``message_store`` row per message, ordered
    by id) on sqlite3, a write being ``clear()`` then ``add_messages()``, each its own committed
    transaction. Bug: when the add fails (a lone surrogate SQLite cannot encode, metadata
    ``json.dumps`` rejects) only the add rolls back: the raise leaves the slot emptied."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-ERR-003", "MM-FID-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(_MESSAGE_STORE_SCHEMA)
        self._lock = threading.Lock()

    @staticmethod
    def _session_id(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def _expires_at(self, now: float) -> float | None:
        return None if self.ttl is None else now + self.ttl

    def _state(self, session_id: str, now: float) -> tuple[str] | None:
        row: tuple[str] | None = self._db.execute(
            "SELECT metadata FROM session_state WHERE session_id = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (session_id, now),
        ).fetchone()
        return row

    def _purge(self, now: float) -> None:
        with self._db:
            expired = self._db.execute(
                "SELECT session_id FROM session_state WHERE expires_at <= ? "
                "ORDER BY expires_at LIMIT 16",
                (now,),
            ).fetchall()
            for (session_id,) in expired:
                self._db.execute("DELETE FROM message_store WHERE session_id = ?", (session_id,))
                self._db.execute("DELETE FROM session_state WHERE session_id = ?", (session_id,))

    def _clear(self, session_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM message_store WHERE session_id = ?", (session_id,))
            self._db.execute("DELETE FROM session_state WHERE session_id = ?", (session_id,))

    def _add_messages(
        self,
        session_id: str,
        texts: tuple[str, ...],
        metadata: dict[str, Any],
        expires_at: float | None,
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO session_state (session_id, expires_at, metadata) VALUES (?, ?, ?)",
                (session_id, expires_at, json.dumps(metadata)),
            )
            self._db.executemany(
                "INSERT INTO message_store (session_id, message) VALUES (?, ?)",
                [(session_id, text) for text in texts],
            )

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        session_id = self._session_id(request)
        with self._lock:
            now = self._clock()
            self._purge(now)
            self._clear(session_id)
            self._add_messages(session_id, texts, metadata, self._expires_at(now))
        return session_id

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        session_id = self._session_id(request)
        with self._lock:
            if self._state(session_id, self._clock()) is None:
                return []
            rows = self._db.execute(
                "SELECT message FROM message_store WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
        return [IWorkingMemory(working_memory=message) for (message,) in rows]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        session_id = self._session_id(request)
        with self._lock:
            now = self._clock()
            state = self._state(session_id, now)
            if state is None:
                return
            metadata = json.loads(state[0]) if given is None else given
            self._clear(session_id)
            self._add_messages(session_id, texts, metadata, self._expires_at(now))

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._clear(self._session_id(request))


# --------------------------------------------------------------------------- 9. fidelity

_STRING_COLUMNS_SCHEMA = """
CREATE TABLE IF NOT EXISTS wm_slot (
    slot_key STRING PRIMARY KEY,
    expires_at REAL,
    metadata STRING NOT NULL
);
CREATE INDEX IF NOT EXISTS wm_slot_expiry ON wm_slot (expires_at);
CREATE TABLE IF NOT EXISTS wm_item (
    slot_key STRING NOT NULL,
    position INTEGER NOT NULL,
    body STRING NOT NULL,
    PRIMARY KEY (slot_key, position)
);
"""


class SQLiteStringColumnManager:
    """A hand-written sqlite3 chat table, one row per item in a single transaction per write,
    its text columns declared ``STRING`` as in BigQuery or Spark. Bug: SQLite gives ``STRING``
    NUMERIC affinity, so a numeric-looking item is stored as a number ("007" comes back "7",
    "1.50" as "1.5", " 42" as "42")."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-FID-001", "MM-STORE-002", "MM-UPD-002")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(_STRING_COLUMNS_SCHEMA)
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def _live(self, key: str, now: float) -> tuple[str] | None:
        row: tuple[str] | None = self._db.execute(
            "SELECT metadata FROM wm_slot WHERE slot_key = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (key, now),
        ).fetchone()
        return row

    def _write(self, key: str, texts: tuple[str, ...], metadata: str, now: float) -> None:
        expires_at = None if self.ttl is None else now + self.ttl
        self._db.execute(
            "INSERT INTO wm_slot (slot_key, expires_at, metadata) VALUES (?, ?, ?) "
            "ON CONFLICT (slot_key) DO UPDATE SET expires_at = excluded.expires_at, "
            "metadata = excluded.metadata",
            (key, expires_at, metadata),
        )
        self._db.execute("DELETE FROM wm_item WHERE slot_key = ?", (key,))
        self._db.executemany(
            "INSERT INTO wm_item (slot_key, position, body) VALUES (?, ?, ?)",
            [(key, position, text) for position, text in enumerate(texts)],
        )

    def _purge(self, now: float) -> None:
        expired = self._db.execute(
            "SELECT slot_key FROM wm_slot WHERE expires_at <= ? ORDER BY expires_at LIMIT 16",
            (now,),
        ).fetchall()
        for (key,) in expired:
            self._db.execute("DELETE FROM wm_item WHERE slot_key = ?", (key,))
            self._db.execute("DELETE FROM wm_slot WHERE slot_key = ?", (key,))

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = json.dumps(copy_metadata(request.metadata) or {})
        key = self._key(request)
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            self._write(key, texts, metadata, now)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        key = self._key(request)
        with self._lock:
            if self._live(key, self._clock()) is None:
                return []
            rows = self._db.execute(
                "SELECT body FROM wm_item WHERE slot_key = ? ORDER BY position", (key,)
            ).fetchall()
        # sqlite3 hands back whatever the column holds; the model wants text.
        return [IWorkingMemory(working_memory=str(body)) for (body,) in rows]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        with self._lock, self._db:
            now = self._clock()
            current = self._live(key, now)
            if current is None:
                return
            metadata = str(current[0]) if given is None else json.dumps(given)
            self._write(key, texts, metadata, now)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = self._key(request)
        with self._lock, self._db:
            self._db.execute("DELETE FROM wm_item WHERE slot_key = ?", (key,))
            self._db.execute("DELETE FROM wm_slot WHERE slot_key = ?", (key,))


# --------------------------------------------------------------------------- 10. delete semantics


class MemoryIdDeleteManager:
    """A dict of slots that follows Arshai's ``IMemoryInput`` docs, where ``memory_id`` is the
    "specific memory ID for update/delete operations": delete with a ``memory_id`` forgets only
    that item (IDs are mem0-style content hashes). Bug: working-memory deletes must ignore
    ``memory_id``; with one set, delete removes at most one item and usually nothing."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-DEL-001", "MM-MODEL-002")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._slots: dict[str, tuple[tuple[str, ...], dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def memory_id(text: str) -> str:
        """The ID of a remembered item: a content hash, as mem0 keeps for each memory."""
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    def _live(self, key: str) -> tuple[tuple[str, ...], dict[str, Any], float] | None:
        entry = self._slots.get(key)
        if entry is None or self._clock() >= entry[2]:
            return None
        return entry

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._lock:
            self._slots[key] = (texts, metadata, self._clock() + self._lifetime)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            entry = self._live(self._key(request))
        if entry is None:
            return []
        return [IWorkingMemory(working_memory=text) for text in entry[0]]

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        with self._lock:
            entry = self._live(key)
            if entry is None:
                return
            metadata = entry[1] if given is None else given
            self._slots[key] = (texts, metadata, self._clock() + self._lifetime)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = self._key(request)
        with self._lock:
            if request.memory_id is None:
                self._slots.pop(key, None)
                return
            entry = self._live(key)
            if entry is None:
                return
            kept = tuple(text for text in entry[0] if self.memory_id(text) != request.memory_id)
            if kept:
                self._slots[key] = (kept, entry[1], entry[2])
            else:
                del self._slots[key]


HELDOUT2 = (
    LruTtlCacheManager,
    MemcachedNoReplyManager,
    RedisScanDeleteManager,
    DuckTypedKeyManager,
    ConversationDocumentManager,
    SessionHistoryManager,
    AsyncRedisCheckThenSetManager,
    SQLClearThenAddManager,
    SQLiteStringColumnManager,
    MemoryIdDeleteManager,
)
