"""A held-out corpus of broken managers, each with one bug of a kind real managers ship with.

Every class is built the way a real memory manager or cache is built (Redis records and lists,
SQL tables, cachetools caches, document stores, copy-on-write maps, async key-value clients) and
is correct except for one realistic bug, named in its docstring. ``BREAKS`` lists the
requirements whose statement that bug directly contradicts. The suite was not consulted.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import functools
import hashlib
import heapq
import json
import math
import sqlite3
import threading
import time
import unicodedata
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import cachetools
from memspec import ConversationMemoryType, IMemoryInput, IWorkingMemory, as_memory_input
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

from corpus.designs import (
    PURGE_BATCH,
    AsyncKVManager,
    AsyncRedisStub,
    CopyOnWriteManager,
    DocumentStoreManager,
    HeapExpiryManager,
    RecheckPurgeManager,
    RedisJSONManager,
    RedisServerStub,
    SqliteRowsManager,
    TTLCacheManager,
    items_of,
    metadata_of,
    plain,
    texts_of,
)

_MISSING: Any = object()


def _field(input: Any, name: str) -> Any:
    """The caller's own value of one input field, as given (``_MISSING`` when absent)."""
    if isinstance(input, Mapping):
        return input.get(name, _MISSING)
    return getattr(input, name, _MISSING)


def _with_field(input: Any, name: str, value: Any) -> dict[str, Any]:
    """The input's fields as a dict, with one field replaced."""
    if isinstance(input, Mapping):
        fields = dict(input)
    else:
        fields = {
            field: getattr(input, field)
            for field in IMemoryInput.model_fields
            if hasattr(input, field)
        }
    fields[name] = value
    return fields


# ============================================================================ shared bases


class _SqlSlotManager:
    """One row per slot in a SQL table keyed by (conversation_id VARCHAR, memory_type), items as
    a JSON text column, expiry as a REAL column compared in SQL; one lock, one transaction per
    write. Subclasses emulate the column type of a server database (width, collation)."""

    _ID_CHARS: int | None = None  # the width n of a VARCHAR(n) column; None: unbounded TEXT
    _COLLATE = "BINARY"
    _EXPIRED = "expires_at <= ?"
    _LIVE = "(expires_at IS NULL OR expires_at > ?)"
    _EXTRA_SCHEMA = ""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.create_function("deadline", 0, self._deadline_now, deterministic=False)
        self._db.executescript(
            f"""
            CREATE TABLE memories (
                conversation_id TEXT NOT NULL COLLATE {self._COLLATE},
                memory_type TEXT NOT NULL,
                items TEXT NOT NULL,
                metadata TEXT NOT NULL,
                expires_at REAL,
                PRIMARY KEY (conversation_id, memory_type)
            );
            CREATE INDEX memories_expiry ON memories (expires_at);
            {self._EXTRA_SCHEMA}
            """
        )

    def close(self) -> None:
        self._db.close()

    def _column(self, conversation_id: str) -> str:
        """What the database keeps of an ID: non-strict servers cut it to the column width."""
        return conversation_id if self._ID_CHARS is None else conversation_id[: self._ID_CHARS]

    def _deadline(self, now: float) -> float | None:
        return None if self.ttl is None else now + self.ttl

    def _deadline_now(self) -> float | None:
        return self._deadline(self._clock())

    def _pk(self, request: IMemoryInput) -> tuple[str, str]:
        return self._column(request.conversation_id), request.memory_type.value

    def _purge(self, now: float) -> None:
        self._db.execute(
            f"DELETE FROM memories WHERE rowid IN (SELECT rowid FROM memories WHERE {self._EXPIRED}"
            " ORDER BY expires_at LIMIT ?)",
            (now, PURGE_BATCH),
        )

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "store")))
        metadata = json.dumps(metadata_of(request))
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            self._db.execute(
                "INSERT OR REPLACE INTO memories VALUES (?, ?, ?, ?, ?)",
                (*self._pk(request), items, metadata, self._deadline(now)),
            )
        return f"{request.memory_type.value}:{request.conversation_id}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            row = self._db.execute(
                "SELECT items FROM memories WHERE conversation_id = ? AND memory_type = ?"
                f" AND {self._LIVE}",
                (*self._pk(request), self._clock()),
            ).fetchone()
        return [] if row is None else items_of(json.loads(row[0]))

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "update")))
        metadata = None if request.metadata is None else json.dumps(metadata_of(request))
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            self._db.execute(
                "UPDATE memories SET items = ?, metadata = COALESCE(?, metadata), expires_at = ?"
                f" WHERE conversation_id = ? AND memory_type = ? AND {self._LIVE}",
                (items, metadata, self._deadline(now), *self._pk(request), now),
            )

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock, self._db:
            self._db.execute(
                "DELETE FROM memories WHERE conversation_id = ? AND memory_type = ?",
                self._pk(request),
            )


class _RedisListManager:
    """The Redis list layout: ``RPUSH`` the items to a list key per slot, metadata in a second
    key, both written in one ``MULTI``/``EXEC`` block with ``EXPIRE``; reads are ``LRANGE``."""

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._redis = RedisServerStub(self._clock)

    @staticmethod
    def _keys(request: IMemoryInput) -> tuple[str, str]:
        slot = f"{request.memory_type.value}:{request.conversation_id}"
        return f"memory:{slot}", f"memory-meta:{slot}"

    def _replace(
        self, redis: RedisServerStub, key: str, meta_key: str, texts: tuple[str, ...], meta: str
    ) -> None:
        redis.delete(key, meta_key)
        redis.rpush(key, *texts)
        redis.set(meta_key, meta, ex=self.ttl)
        if self.ttl is not None:
            redis.expire(key, self.ttl)

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = texts_of(request, "store")
        meta = json.dumps(metadata_of(request))
        key, meta_key = self._keys(request)
        self._redis.eval(lambda redis: self._replace(redis, key, meta_key, texts, meta))
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        return items_of(self._redis.lrange(self._keys(request)[0], 0, -1))

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else json.dumps(metadata_of(request))
        key, meta_key = self._keys(request)

        def script(redis: RedisServerStub) -> None:
            if redis.exists(key):
                meta = redis.get(meta_key) if given is None else given
                self._replace(redis, key, meta_key, texts, meta or "{}")

        self._redis.eval(script)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        self._redis.delete(*self._keys(request))


# ============================================================================ 1. scale


class TTLCache1024Manager(TTLCacheManager):
    """``cachetools.TTLCache(maxsize=1024, ...)`` as in most examples: past 1,024 slots the least
    recently used live slot is evicted silently, though the caller configured no bound."""

    BREAKS = ("MM-LIMIT-003",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock, maxsize=1024)


class LRUCache65536Manager(HeapExpiryManager):
    """Slots kept in a ``cachetools.LRUCache(maxsize=65536)`` "big enough for any deployment",
    expiry checked per record: the 65,537th live slot evicts the least recently used one."""

    BREAKS = ("MM-LIMIT-003",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._slots = cachetools.LRUCache(maxsize=65_536)


class TwoGenerationManager:
    """A young/old generation pair swapped every 4,096 writes (the bounded-memo pattern): a slot
    not written during two generations is dropped with the old dict, live or not."""

    BREAKS = ("MM-LIMIT-003",)
    _GENERATION = 4096

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = math.inf if self.ttl is None else self.ttl
        self._young: dict[str, tuple[tuple[str, ...], dict[str, Any], float]] = {}
        self._old: dict[str, tuple[tuple[str, ...], dict[str, Any], float]] = {}
        self._writes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def _find(self, key: str, now: float) -> tuple[tuple[str, ...], dict[str, Any], float] | None:
        record = self._young.get(key)
        if record is None:
            record = self._old.get(key)
        if record is None or now >= record[2]:
            return None
        return record

    def _write(self, key: str, texts: tuple[str, ...], metadata: dict[str, Any]) -> None:
        self._young[key] = (texts, metadata, self._clock() + self._lifetime)
        self._old.pop(key, None)
        self._writes += 1
        if self._writes >= self._GENERATION:
            self._old, self._young, self._writes = self._young, {}, 0

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = texts_of(request, "store")
        metadata = metadata_of(request)
        key = self._key(request)
        with self._lock:
            self._write(key, texts, metadata)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            record = self._find(self._key(request), self._clock())
        return [] if record is None else items_of(record[0])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        with self._lock:
            record = self._find(key, self._clock())
            if record is not None:
                self._write(key, texts, record[1] if given is None else given)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = self._key(request)
        with self._lock:
            self._young.pop(key, None)
            self._old.pop(key, None)


class SqlRowCapManager(_SqlSlotManager):
    """A "keep the table small" guard: every 1,000 inserts, if the table holds more than 50,000
    rows, the 5,000 rows closest to expiry are deleted, live or not."""

    BREAKS = ("MM-LIMIT-003",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._inserts = 0

    def store(self, input: Any) -> str:
        key = super().store(input)
        with self._lock, self._db:
            self._inserts += 1
            if self._inserts % 1000 == 0:
                (rows,) = self._db.execute("SELECT COUNT(*) FROM memories").fetchone()
                if rows > 50_000:
                    self._db.execute(
                        "DELETE FROM memories WHERE rowid IN"
                        " (SELECT rowid FROM memories ORDER BY expires_at LIMIT ?)",
                        (rows - 45_000,),
                    )
        return key


class InternedUidManager(HeapExpiryManager):
    """Slots keyed by an opaque uid per conversation, handed out by a ``functools.lru_cache
    (maxsize=4096)``: once 4,096 other conversations pass, a conversation gets a new uid."""

    BREAKS = ("MM-LIMIT-003",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._uid_of = functools.lru_cache(maxsize=4096)(self._new_uid)

    @staticmethod
    def _new_uid(conversation_id: str) -> str:
        return uuid.uuid4().hex

    def _key(self, request: IMemoryInput) -> str:
        with self._lock:
            return f"{request.memory_type.value}:{self._uid_of(request.conversation_id)}"

    def store(self, input: Any) -> str:
        request = self._request(input)
        super().store(request)
        return f"{request.memory_type.value}:{request.conversation_id}"


class ConversationCapDocManager(DocumentStoreManager):
    """A document store capped at 10,000 conversation documents (``MAX_CONVERSATIONS``): the
    least recently written conversation is dropped whole when the 10,001st arrives."""

    BREAKS = ("MM-LIMIT-003",)
    _MAX_CONVERSATIONS = 10_000

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._docs = OrderedDict()

    def _put(self, doc_id: str, memory_type: str, record: dict[str, Any]) -> None:
        super()._put(doc_id, memory_type, record)
        docs = self._docs
        assert isinstance(docs, OrderedDict)
        docs.move_to_end(doc_id)
        while len(docs) > self._MAX_CONVERSATIONS:
            docs.popitem(last=False)


class IdleSweepManager(HeapExpiryManager):
    """An idle-eviction sweep every 5,000 writes drops slots neither written nor read since the
    previous sweep ("cold" entries), although they are live."""

    BREAKS = ("MM-LIMIT-003",)
    _SWEEP_EVERY = 5000

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._hot: set[str] = set()
        self._writes = 0
        self._last_sweep_seq = 0
        self._latest_seq = 0

    def _write(
        self, key: str, texts: tuple[str, ...], metadata: dict[str, Any], now: float
    ) -> None:
        super()._write(key, texts, metadata, now)
        self._latest_seq = self._slots[key].seq
        self._writes += 1
        if self._writes >= self._SWEEP_EVERY:
            cold = [
                k
                for k, record in self._slots.items()
                if record.seq < self._last_sweep_seq and k not in self._hot
            ]
            for k in cold:
                del self._slots[k]
            self._hot.clear()
            self._writes = 0
            self._last_sweep_seq = self._latest_seq

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        key = self._key(request)
        with self._lock:
            record = self._live(key, self._clock())
            if record is not None:
                self._hot.add(key)
        return [] if record is None else items_of(record.texts)


# ============================================================================ 2. size


class ListTrim300Manager(_RedisListManager):
    """Redis list layout with ``LTRIM key -300 -1`` after ``RPUSH`` to bound the list: a write of
    more than 300 items silently keeps only the last 300."""

    BREAKS = ("MM-LIMIT-005",)

    def _replace(
        self, redis: RedisServerStub, key: str, meta_key: str, texts: tuple[str, ...], meta: str
    ) -> None:
        super()._replace(redis, key, meta_key, texts, meta)
        redis.ltrim(key, -300, -1)


class SelectLimit256Manager(SqliteRowsManager):
    """SQL rows read back with a "safety" ``LIMIT 256`` on the item query: a slot of more than
    256 items comes back cut to its first 256."""

    BREAKS = ("MM-LIMIT-005",)

    def _read_items(self, slot_id: int) -> list[str]:
        rows = self._db.execute(
            "SELECT text FROM items WHERE slot_id = ? ORDER BY position LIMIT 256", (slot_id,)
        )
        return [row[0].decode("utf-8", "surrogatepass") for row in rows]


class Varchar255IdManager(_SqlSlotManager):
    """``conversation_id VARCHAR(255)`` on a server in non-strict mode, which truncates longer
    values: IDs that share their first 255 characters share a row."""

    BREAKS = ("MM-ISO-003",)
    _ID_CHARS = 255


class KeyLength4096Manager(RedisJSONManager):
    """A "defensive" key limit: the conversation ID is cut to 4,096 characters when the Redis
    key is built, so longer IDs with a common prefix share a key."""

    BREAKS = ("MM-LIMIT-004", "MM-STORE-009")

    def _key(self, request: IMemoryInput, input: Any = None) -> str:
        conversation_id = request.conversation_id[:4096]
        return f"{self.prefix}:{request.memory_type.value}:{conversation_id}"


class Varchar16383IdManager(_SqlSlotManager):
    """``conversation_id VARCHAR(16383)``, the widest utf8mb4 VARCHAR, on a non-strict server:
    IDs longer than 16,383 characters are truncated and merge."""

    BREAKS = ("MM-LIMIT-004",)
    _ID_CHARS = 16_383


class ItemCap2MiBManager(HeapExpiryManager):
    """Each item capped at 2 MiB of text "to protect the prompt budget", by slicing: an item
    longer than 2,097,152 characters is stored cut, without an error."""

    BREAKS = ("MM-LIMIT-005",)
    _MAX_ITEM_CHARS = 2 * 1024 * 1024

    def _texts(self, request: IMemoryInput, operation: str) -> tuple[str, ...]:
        return tuple(text[: self._MAX_ITEM_CHARS] for text in texts_of(request, operation))


class TextColumn64KiBManager(SqliteRowsManager):
    """One row per item in a ``TEXT`` column (65,535 bytes) on a non-strict server, which cuts
    longer values at a character boundary: a 1 MiB item comes back as its first 64 KiB."""

    BREAKS = ("MM-FID-004",)
    _COLUMN_BYTES = 65_535

    def _write_items(self, slot_id: int, texts: tuple[str, ...]) -> None:
        self._db.execute("DELETE FROM items WHERE slot_id = ?", (slot_id,))
        rows = []
        for position, text in enumerate(texts):
            blob = text.encode("utf-8", "surrogatepass")
            if len(blob) > self._COLUMN_BYTES:
                end = self._COLUMN_BYTES
                while end and blob[end] & 0xC0 == 0x80:
                    end -= 1
                blob = blob[:end]
            rows.append((slot_id, position, blob))
        self._db.executemany("INSERT INTO items (slot_id, position, text) VALUES (?, ?, ?)", rows)


# ============================================================================ 3. key derivation


class Crc32KeyManager(RedisJSONManager):
    """Redis keys made short with ``zlib.crc32`` of the conversation ID: two conversations whose
    IDs collide in 32 bits share a key. Uses real time (no clock parameter)."""

    BREAKS = ("MM-ISO-001", "MM-STORE-009")

    def __init__(self, ttl: float | None = DEFAULT_TTL) -> None:
        super().__init__(ttl)

    def _key(self, request: IMemoryInput, input: Any = None) -> str:
        digest = zlib.crc32(request.conversation_id.encode("utf-8"))
        return f"{self.prefix}:{request.memory_type.value}:{digest:08x}"


def _fnv1a_32(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


class Fnv1aKeyManager(HeapExpiryManager):
    """Slot keys from the 32-bit FNV-1a hash of the conversation ID (a common "fast hash" for
    cache keys): IDs that collide in 32 bits share a slot."""

    BREAKS = ("MM-ISO-001", "MM-STORE-009")

    def _key(self, request: IMemoryInput) -> str:
        digest = _fnv1a_32(request.conversation_id.encode("utf-8"))
        return f"{request.memory_type.value}:{digest:08x}"


def _java_hash_code(text: str) -> int:
    units = text.encode("utf-16-be", "surrogatepass")
    value = 0
    for index in range(0, len(units), 2):
        value = (31 * value + (units[index] << 8 | units[index + 1])) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


class JavaHashDocManager(DocumentStoreManager):
    """Conversation documents whose ``_id`` is Java's ``String.hashCode()`` of the conversation
    ID (ported from a JVM service): ``"Aa"`` and ``"BB"`` share one document."""

    BREAKS = ("MM-ISO-001",)

    def _doc_id(self, request: IMemoryInput) -> str:
        return str(_java_hash_code(request.conversation_id))


class Sha256Prefix8Manager(TTLCacheManager):
    """Cache keys from the first 8 hex digits of a SHA-256 digest of the conversation ID (32
    bits, "plenty"): colliding conversations share a slot."""

    BREAKS = ("MM-ISO-001", "MM-STORE-009")

    def _key(self, request: IMemoryInput) -> str:
        digest = hashlib.sha256(request.conversation_id.encode("utf-8")).hexdigest()[:8]
        return f"{request.memory_type.value}:{digest}"


class EnumFormatKeyManager(RedisJSONManager):
    """The key is built with ``f"{memory_type}"`` from the caller's value: a caller's own
    ``class T(str, Enum)`` member formats as ``"T.WORKING_MEMORY"`` on Python 3.11+."""

    BREAKS = ("MM-MODEL-003", "MM-STORE-008")

    def _key(self, request: IMemoryInput, input: Any = None) -> str:
        given = _MISSING if input is None else _field(input, "memory_type")
        memory_type = request.memory_type if given is _MISSING else given
        return f"{self.prefix}:{memory_type}:{request.conversation_id}"


class BlankIdManager(HeapExpiryManager):
    """Validation that refuses "blank" conversation IDs (``not id.strip()``), so an ID made only
    of white space raises ``ValueError``, though it is a valid non-empty string."""

    BREAKS = ("MM-ISO-003",)

    def _request(self, input: Any) -> IMemoryInput:
        request = as_memory_input(input)
        if not request.conversation_id.strip():
            raise ValueError("conversation_id must not be blank")
        return request


class NocaseIdManager(_SqlSlotManager):
    """``conversation_id`` declared ``COLLATE NOCASE`` (as a case-insensitive MySQL collation
    would be): IDs that differ only in ASCII case share a row."""

    BREAKS = ("MM-ISO-003",)
    _COLLATE = "NOCASE"


class PadSpaceIdManager(_SqlSlotManager):
    """``conversation_id CHAR(n)`` with a PAD SPACE collation, which ignores trailing spaces when
    comparing: ``"abc"`` and ``"abc "`` share a row."""

    BREAKS = ("MM-ISO-003",)

    def _column(self, conversation_id: str) -> str:
        return conversation_id.rstrip(" ")


class LegacyKeyManager(RedisJSONManager):
    """A key scheme kept for backward compatibility: working memory lives at ``memspec:{id}``,
    other types at ``memspec:{id}:{type}``, joined without escaping the ID."""

    BREAKS = ("MM-ISO-001", "MM-STORE-009")

    def _key(self, request: IMemoryInput, input: Any = None) -> str:
        if request.memory_type is ConversationMemoryType.WORKING_MEMORY:
            return f"{self.prefix}:{request.conversation_id}"
        return f"{self.prefix}:{request.conversation_id}:{request.memory_type.value}"


class GlobDeleteManager(RedisJSONManager):
    """``delete`` supports wildcards the django-redis ``delete_pattern`` way: an ID containing
    ``*``, ``?`` or ``[`` is used as a ``SCAN MATCH`` pattern and deletes other conversations.

    (It breaks what ``delete`` promises, MM-DEL-002; no slot ever reads another's data, so
    the isolation requirements hold.)"""

    BREAKS = ("MM-DEL-002",)

    def delete(self, input: Any) -> None:
        request = self._request(input)
        key = self._key(request, input)
        if any(char in request.conversation_id for char in "*?["):
            for match in self._redis.scan_iter(key):
                self._redis.delete(match)
        else:
            self._redis.delete(key)


class NfcIdDocManager(DocumentStoreManager):
    """Conversation IDs "cleaned" with ``unicodedata.normalize("NFC", ...)`` before they become
    document IDs: an ID and its decomposed form (``"é"`` vs ``"e\\u0301"``) share a document."""

    BREAKS = ("MM-ISO-003",)

    def _doc_id(self, request: IMemoryInput) -> str:
        return unicodedata.normalize("NFC", request.conversation_id)


# ============================================================================ 4. foreign input


class ArshaiDefaultTypeManager(HeapExpiryManager):
    """Mirrors Arshai 1.x for inputs that omit ``memory_type``: a dict without the key (or an
    object without the attribute) goes to ``SHORT_TERM_MEMORY`` instead of working memory."""

    BREAKS = ("MM-MODEL-001", "MM-STORE-008")

    def _request(self, input: Any) -> IMemoryInput:
        request = as_memory_input(input)
        if _field(input, "memory_type") is _MISSING:
            return request.model_copy(
                update={"memory_type": ConversationMemoryType.SHORT_TERM_MEMORY}
            )
        return request


class DictItemsByReferenceManager(DocumentStoreManager):
    """A document store that keeps a mapping input's item dicts as sub-documents as they are:
    the caller's later edits to those dicts change the stored memory."""

    BREAKS = ("MM-STORE-007",)

    def _doc_items(self, input: Any, request: IMemoryInput, operation: str) -> list[Any]:
        items = super()._doc_items(input, request, operation)
        if isinstance(input, Mapping):
            given = list(input["data"])
            return [
                raw if isinstance(raw, dict) else item
                for raw, item in zip(given, items, strict=True)
            ]
        return items


class RawMetadataJSONManager(RedisJSONManager):
    """The Redis record is written with ``json.dumps({... "metadata": input.metadata})``: a
    ``MappingProxyType`` or other non-dict mapping inside the metadata raises ``TypeError``."""

    BREAKS = ("MM-META-001",)

    def _encode(self, texts: tuple[str, ...], metadata: dict[str, Any]) -> str:
        return json.dumps({"data": list(texts), "metadata": metadata})

    def _update_script(
        self, key: str, texts: tuple[str, ...], metadata: dict[str, Any] | None
    ) -> Callable[[RedisServerStub], None]:
        def script(redis: RedisServerStub) -> None:
            old = redis.get(key)
            if old is not None:
                kept = json.loads(old)["metadata"] if metadata is None else metadata
                redis.set(key, self._encode(texts, kept), ex=self.ttl, xx=True)

        return script


class FlatHashMetadataManager:
    """A Redis hash per slot with the metadata flattened into hash fields next to ``items``
    (``HSET key items <json> **metadata``): a metadata key named ``items`` overwrites the items."""

    BREAKS = ("MM-META-001",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._redis = RedisServerStub(self._clock)

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    @staticmethod
    def _fields(texts: tuple[str, ...], metadata: dict[str, Any]) -> dict[str, str]:
        fields = {"items": json.dumps(list(texts))}
        fields.update({str(name): json.dumps(value) for name, value in metadata.items()})
        return fields

    def _write(self, redis: RedisServerStub, key: str, fields: dict[str, str]) -> None:
        redis.hset(key, fields)
        if self.ttl is not None:
            redis.expire(key, self.ttl)

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        fields = self._fields(texts_of(request, "store"), metadata_of(request))
        key = self._key(request)

        def script(redis: RedisServerStub) -> None:
            redis.delete(key)
            self._write(redis, key, fields)

        self._redis.eval(script)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        fields = self._redis.hgetall(self._key(request))
        return items_of(json.loads(fields["items"])) if fields else []

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        replace = request.metadata is not None
        fields = self._fields(texts, metadata_of(request))
        key = self._key(request)

        def script(redis: RedisServerStub) -> None:
            if redis.exists(key):
                if replace:
                    redis.delete(key)
                self._write(redis, key, fields)

        self._redis.eval(script)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        self._redis.delete(self._key(request))


class FlatDocMetadataManager(DocumentStoreManager):
    """Metadata flattened into the memory sub-document (``{"data": ..., "expires_at": ...,
    **metadata}``) so it can be indexed: a metadata key ``data`` or ``expires_at`` wins."""

    BREAKS = ("MM-META-001",)
    _OWN = ("data", "expires_at", "_rev")

    def _record(
        self, items: list[Any], metadata: dict[str, Any], expires: float | None, rev: int
    ) -> dict[str, Any]:
        return {"data": items, "expires_at": expires, "_rev": rev, **metadata}

    def _metadata_of_record(self, record: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in record.items() if name not in self._OWN}

    def _put(self, doc_id: str, memory_type: str, record: dict[str, Any]) -> None:
        doc = self._docs.get(doc_id)
        if doc is None:
            doc = self._docs[doc_id] = {"_id": doc_id, "memories": {}}
        doc["memories"][memory_type] = record
        # The heap is fed from the deadline computed for this write, not read back.
        if self.ttl is not None:
            heapq.heappush(
                self._heap, (self._clock() + self.ttl, record["_rev"], doc_id, memory_type)
            )


class LenientTypeManager(HeapExpiryManager):
    """``memory_type`` strings are "normalised" (``.strip().upper()``) before validation, so
    ``"working_memory"`` or ``" Long_Term_Memory "`` name a slot instead of being rejected."""

    BREAKS = ("MM-INPUT-004",)

    def _request(self, input: Any) -> IMemoryInput:
        given = _field(input, "memory_type")
        if isinstance(given, str) and not isinstance(given, Enum):
            name = given.strip().upper()
            if name in ConversationMemoryType.__members__:
                input = _with_field(input, "memory_type", ConversationMemoryType[name])
        return as_memory_input(input)


class DictOnlyInputManager(TTLCacheManager):
    """Inputs are told apart with ``isinstance(input, dict)``: any other mapping
    (``MappingProxyType``, a custom ``Mapping``) is read by attribute and refused."""

    BREAKS = ("MM-INPUT-003",)

    def _request(self, input: Any) -> IMemoryInput:
        if isinstance(input, IMemoryInput):
            return input
        if isinstance(input, dict):
            return IMemoryInput.model_validate(input)
        fields = {
            name: getattr(input, name) for name in IMemoryInput.model_fields if hasattr(input, name)
        }
        return IMemoryInput.model_validate(fields)


class PydanticOnlyInputManager(HeapExpiryManager):
    """Foreign inputs are converted with ``input.model_dump()``, assuming every framework uses
    pydantic: a dataclass or plain object with the same attributes is refused."""

    BREAKS = ("MM-INPUT-002",)

    def _request(self, input: Any) -> IMemoryInput:
        if isinstance(input, (IMemoryInput, Mapping)):
            return as_memory_input(input)
        dump = getattr(input, "model_dump", None)
        if dump is None:
            raise TypeError(f"expected a pydantic model, got {type(input).__name__}")
        return IMemoryInput.model_validate(dump())


# ============================================================================ 5. time


class MillisecondDeadlineManager(HeapExpiryManager):
    """Deadlines kept as whole milliseconds, Redis ``PEXPIREAT`` style, with truncation
    (``int(deadline * 1000)``): a slot expires up to 1 ms before t + ttl."""

    BREAKS = ("MM-TTL-001",)

    def _deadline(self, now: float) -> float:
        return math.inf if self.ttl is None else int((now + self.ttl) * 1000)

    def _expired(self, expires: float, now: float) -> bool:
        return int(now * 1000) >= expires


class ThirtyDayCapManager(HeapExpiryManager):
    """A memcached-minded wrapper clamps every lifetime to 30 days (2,592,000 s), the longest
    exptime memcached reads as relative, instead of sending an absolute Unix time for longer
    ones: a slot configured for a year of retention expires after a month."""

    BREAKS = ("MM-TTL-001",)
    _LONGEST = 30 * 86400

    def _deadline(self, now: float) -> float:
        return math.inf if self.ttl is None else now + min(self.ttl, self._LONGEST)


class OnUpdateTimestampManager(_SqlSlotManager):
    """The deadline column is refreshed by an ``ON UPDATE`` trigger, which (like MySQL's ``ON
    UPDATE CURRENT_TIMESTAMP``) fires only when the row changes: an unchanged update keeps it."""

    BREAKS = ("MM-TTL-004",)
    _EXTRA_SCHEMA = """
        CREATE TRIGGER memories_touch AFTER UPDATE OF items, metadata ON memories
        WHEN OLD.items IS NOT NEW.items OR OLD.metadata IS NOT NEW.metadata
        BEGIN UPDATE memories SET expires_at = deadline() WHERE rowid = NEW.rowid; END;
    """

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "update")))
        metadata = None if request.metadata is None else json.dumps(metadata_of(request))
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            self._db.execute(
                "UPDATE memories SET items = ?, metadata = COALESCE(?, metadata)"
                f" WHERE conversation_id = ? AND memory_type = ? AND {self._LIVE}",
                (items, metadata, *self._pk(request), now),
            )


class SkipUnchangedStoreManager(RedisJSONManager):
    """``store`` skips the ``SET`` when the live record already holds the same payload (write
    elision to save replication traffic), so re-storing unchanged content keeps the old TTL."""

    BREAKS = ("MM-TTL-004",)

    def store(self, input: Any) -> str:
        request = self._request(input)
        payload = self._encode(texts_of(request, "store"), request.metadata or {})
        key = self._key(request, input)

        def script(redis: RedisServerStub) -> None:
            if redis.get(key) != payload:
                redis.set(key, payload, ex=self.ttl)

        self._redis.eval(script)
        return key


class MonotonicSweepManager(HeapExpiryManager):
    """The clean-up sweep reads ``time.monotonic()`` itself while deadlines come from the
    injected clock: with any other clock it purges live slots (or none)."""

    BREAKS = ("MM-TTL-010",)

    def _purge(self, now: float) -> None:
        super()._purge(time.monotonic())


class DeadlineBeforeCompressManager(RedisJSONManager):
    """The deadline (``EXAT``) is taken from the clock before the record is compressed and sent,
    so the slot lives ttl from the start of the call rather than from the write."""

    BREAKS = ("MM-TTL-001",)

    def _pack(self, texts: tuple[str, ...], metadata: dict[str, Any]) -> str:
        raw = self._encode(texts, metadata).encode("ascii")
        return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")

    def _decode(self, payload: str) -> list[str]:
        return super()._decode(zlib.decompress(base64.b64decode(payload)).decode("ascii"))

    def store(self, input: Any) -> str:
        request = self._request(input)
        deadline = None if self.ttl is None else self._clock() + self.ttl
        payload = self._pack(texts_of(request, "store"), request.metadata or {})
        key = self._key(request, input)
        if deadline is None:
            self._redis.set(key, payload)
        else:
            self._redis.set(key, payload, exat=deadline)
        return key

    def update(self, input: Any) -> None:
        request = self._request(input)
        deadline = None if self.ttl is None else self._clock() + self.ttl
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request, input)

        def script(redis: RedisServerStub) -> None:
            old = redis.get(key)
            if old is not None:
                kept = json.loads(zlib.decompress(base64.b64decode(old)))["metadata"]
                payload = self._pack(texts, kept if given is None else given)
                if deadline is None:
                    redis.set(key, payload, xx=True)
                else:
                    redis.set(key, payload, exat=deadline, xx=True)

        self._redis.eval(script)


class OffByOneExpiryManager(_SqlSlotManager):
    """The SQL liveness test is ``expires_at >= now`` (and the purge ``expires_at < now``): a
    slot is still returned at exactly t + ttl."""

    BREAKS = ("MM-TTL-002",)
    _EXPIRED = "expires_at < ?"
    _LIVE = "(expires_at IS NULL OR expires_at >= ?)"


class CeilSecondsManager(RedisJSONManager):
    """``SET ... EX`` takes whole seconds, so the TTL is rounded up with ``math.ceil`` "to never
    expire early": a fractional TTL lives up to a second too long."""

    BREAKS = ("MM-TTL-006",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._seconds = None if self.ttl is None else math.ceil(self.ttl)

    def store(self, input: Any) -> str:
        request = self._request(input)
        payload = self._encode(texts_of(request, "store"), request.metadata or {})
        key = self._key(request, input)
        self._redis.set(key, payload, ex=self._seconds)
        return key

    def _update_script(
        self, key: str, texts: tuple[str, ...], metadata: dict[str, Any] | None
    ) -> Callable[[RedisServerStub], None]:
        given = None if metadata is None else json.loads(json.dumps(plain(metadata)))

        def script(redis: RedisServerStub) -> None:
            old = redis.get(key)
            if old is not None:
                kept = json.loads(old)["metadata"] if given is None else given
                redis.set(key, self._encode(texts, kept), ex=self._seconds, xx=True)

        return script


class StaleHeapEntryManager(HeapExpiryManager):
    """A heap of (deadline, key) purged without checking that the entry belongs to the slot's
    current write: a slot re-written before its old deadline is purged at that old deadline."""

    BREAKS = ("MM-TTL-004",)

    def _purge(self, now: float) -> None:
        heap = self._heap
        budget = PURGE_BATCH
        while budget and heap and self._expired(heap[0][0], now):
            budget -= 1
            self._slots.pop(heapq.heappop(heap)[2], None)


class KeepTtlUpdateManager(RedisJSONManager):
    """``update`` rewrites the record with ``SET ... XX KEEPTTL`` (as ``JSON.SET`` does for
    RedisJSON documents): the slot keeps the deadline of its last ``store``."""

    BREAKS = ("MM-TTL-004",)

    def _update_script(
        self, key: str, texts: tuple[str, ...], metadata: dict[str, Any] | None
    ) -> Callable[[RedisServerStub], None]:
        given = None if metadata is None else json.loads(json.dumps(plain(metadata)))

        def script(redis: RedisServerStub) -> None:
            old = redis.get(key)
            if old is not None:
                kept = json.loads(old)["metadata"] if given is None else given
                redis.set(key, self._encode(texts, kept), xx=True, keepttl=True)

        return script


class SlidingExpiryManager(RedisJSONManager):
    """``retrieve`` reads with ``GETEX key EX ttl`` (sliding expiration, as session caches do):
    every read pushes the deadline back."""

    BREAKS = ("MM-TTL-005",)

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        key = self._key(request, input)
        payload = self._redis.getex(key, ex=self.ttl)
        return [] if payload is None else items_of(self._decode(payload))


# ============================================================================ 6. concurrency


class UnlockedSweepManager:
    """A dict under a lock plus an amortised full sweep of expired slots; the sweep iterates the
    dict without the lock ("it only reads"), so a concurrent insert makes it raise."""

    BREAKS = ("MM-CONC-001",)
    RACE = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = math.inf if self.ttl is None else self.ttl
        self._slots: dict[str, tuple[tuple[str, ...], dict[str, Any], float]] = {}
        self._writes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def _sweep(self) -> None:
        now = self._clock()
        expired = [key for key, record in self._slots.items() if now >= record[2]]
        if expired:
            with self._lock:
                now = self._clock()
                for key in expired:
                    record = self._slots.get(key)
                    if record is not None and now >= record[2]:
                        del self._slots[key]

    def _written(self) -> bool:
        self._writes += 1
        if self._writes >= max(64, len(self._slots) // 4):
            self._writes = 0
            return True
        return False

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = texts_of(request, "store")
        metadata = metadata_of(request)
        key = self._key(request)
        with self._lock:
            self._slots[key] = (texts, metadata, self._clock() + self._lifetime)
            sweep = self._written()
        if sweep:
            self._sweep()
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            record = self._slots.get(self._key(request))
            now = self._clock()
        if record is None or now >= record[2]:
            return []
        return items_of(record[0])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        with self._lock:
            now = self._clock()
            record = self._slots.get(key)
            if record is None or now >= record[2]:
                return
            metadata = record[1] if given is None else given
            self._slots[key] = (texts, metadata, now + self._lifetime)
            sweep = self._written()
        if sweep:
            self._sweep()

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._slots.pop(self._key(request), None)


class ExpiredReadEvictManager(HeapExpiryManager):
    """``retrieve`` reads without the lock and, finding the record expired, pops the key under
    the lock without looking again: a ``store`` landing in between is deleted."""

    BREAKS = ("MM-CONC-002",)
    RACE = True

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        key = self._key(request)
        record = self._slots.get(key)
        if record is None:
            return []
        if self._expired(record.expires, self._clock()):
            with self._lock:
                self._slots.pop(key, None)
            return []
        return items_of(record.texts)


class CheckThenWriteUpdateManager(HeapExpiryManager):
    """``update`` checks that the slot is live under the lock, releases it, then writes under the
    lock again: a ``delete`` in between is undone, the slot comes back."""

    BREAKS = ("MM-CONC-002", "MM-CONC-003")  # an update racing a store overwrites it too
    RACE = True

    def update(self, input: Any) -> None:
        request = self._request(input)
        texts = self._texts(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        with self._lock:
            record = self._live(key, self._clock())
        if record is None:
            return
        metadata = record.metadata if given is None else given
        with self._lock:
            now = self._clock()
            self._purge(now)
            self._write(key, texts, metadata, now)


class UnlockedCopyOnWriteManager(CopyOnWriteManager):
    """Copy-on-write shards whose writers are not serialised ("readers need no lock, so neither
    do writers"): two writers copying one shard lose one write, and update can undo a delete."""

    BREAKS = ("MM-CONC-002", "MM-CONC-003")
    RACE = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._writer = contextlib.nullcontext()


class PurgeWithoutRecheckManager(RecheckPurgeManager):
    """Expired slots are chosen outside the lock and then removed under it without checking
    again: a slot re-stored in between is purged with its fresh content."""

    BREAKS = ("MM-CONC-002",)
    RACE = True

    def _remove(self, doomed: list[str]) -> None:
        with self._lock:
            for key in doomed:
                self._slots.pop(key, None)


class PipelineNoMultiManager(_RedisListManager):
    """``store`` sends ``DEL``, ``RPUSH``, ``SET``, ``EXPIRE`` as a non-transactional pipeline
    (``transaction=False``): concurrent stores interleave their items. Uses real time."""

    BREAKS = ("MM-CONC-002",)
    RACE = True

    def __init__(self, ttl: float | None = DEFAULT_TTL) -> None:
        super().__init__(ttl)

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = texts_of(request, "store")
        meta = json.dumps(metadata_of(request))
        key, meta_key = self._keys(request)
        self._replace(self._redis, key, meta_key, texts, meta)
        return key


class AsyncGetThenSetManager(AsyncKVManager):
    """Async ``update`` does ``await GET`` then ``await SET`` (without ``XX``): a task deleting
    the slot between the two awaits sees it brought back."""

    BREAKS = ("MM-ASYNC-002",)
    RACE = True

    async def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        old = await self._kv.get(key)
        if old is None:
            return
        kept = json.loads(old)["metadata"] if given is None else given
        await self._kv.set(key, self._encode(texts, kept), ex=self.ttl)


class AsyncListStoreManager:
    """An async Redis list layout whose ``store`` awaits ``DEL``, ``RPUSH`` and ``EXPIRE`` one by
    one: concurrent stores interleave, a read between them sees an empty slot, and a store
    cancelled after its ``DEL`` leaves the slot empty."""

    BREAKS = ("MM-ASYNC-002", "MM-ASYNC-003")
    RACE = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._kv = AsyncRedisStub(RedisServerStub(self._clock))

    @staticmethod
    def _keys(request: IMemoryInput) -> tuple[str, str]:
        slot = f"{request.memory_type.value}:{request.conversation_id}"
        return f"memory:{slot}", f"memory-meta:{slot}"

    async def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = texts_of(request, "store")
        meta = json.dumps(metadata_of(request))
        key, meta_key = self._keys(request)
        await self._kv.delete(key, meta_key)
        await self._kv.rpush(key, *texts)
        await self._kv.set(meta_key, meta, ex=self.ttl)
        if self.ttl is not None:
            await self._kv.expire(key, self.ttl)
        return key

    async def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        return items_of(await self._kv.lrange(self._keys(request)[0], 0, -1))

    async def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else json.dumps(metadata_of(request))
        key, meta_key = self._keys(request)
        ttl = self.ttl

        def script(redis: RedisServerStub) -> None:
            if redis.exists(key):
                meta = redis.get(meta_key) if given is None else given
                redis.delete(key, meta_key)
                redis.rpush(key, *texts)
                redis.set(meta_key, meta or "{}", ex=ttl)
                if ttl is not None:
                    redis.expire(key, ttl)

        await self._kv.eval(script)

    async def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        await self._kv.delete(*self._keys(request))


class _PipelinedClient:
    """An asyncio client on one connection of a pipelined protocol (RESP, memcached's text
    protocol): the server answers commands in the order they were sent, and the client reads
    the oldest unread reply after the network round trip."""

    def __init__(self, server: RedisServerStub) -> None:
        self.server = server
        self._replies: collections.deque[Any] = collections.deque()

    async def _command(self, name: str, *args: Any, **options: Any) -> Any:
        self._replies.append(getattr(self.server, name)(*args, **options))
        await asyncio.sleep(0)  # the reply on its way back
        return self._replies.popleft()

    async def get(self, key: str) -> Any:
        return await self._command("get", key)

    async def set(self, key: str, value: str, **options: Any) -> Any:
        return await self._command("set", key, value, **options)

    async def delete(self, *keys: str) -> Any:
        return await self._command("delete", *keys)

    async def eval(self, script: Callable[[RedisServerStub], Any]) -> Any:
        return await self._command("eval", script)


class AsyncPipelinedReplyManager(AsyncKVManager):
    """An asyncio manager on one pipelined connection, as aioredis 1.x and aiomcache kept:
    each operation is one command, and tasks interleave only between whole commands. Bug: a
    task cancelled while its reply is on the way leaves that reply unread, and from then on
    every command reads the reply of the one before it (what redis-py's asyncio client did
    before 4.5.4, CVE-2023-28858): a retrieve gets a ``SET``'s ``True``, or another slot's
    items."""

    BREAKS = ("MM-ASYNC-003",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._kv = _PipelinedClient(self._kv.server)  # type: ignore[assignment]


# ============================================================================ 7. failure atomicity


class SplitMetadataKeyManager:
    """Items and metadata in two Redis keys written by two ``SET`` commands, the metadata encoded
    between them: metadata ``json.dumps`` refuses leaves the new items written and raises."""

    BREAKS = ("MM-ERR-003",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._redis = RedisServerStub(self._clock)

    @staticmethod
    def _keys(request: IMemoryInput) -> tuple[str, str]:
        slot = f"{request.memory_type.value}:{request.conversation_id}"
        return f"memory:{slot}", f"memory-meta:{slot}"

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "store")))
        key, meta_key = self._keys(request)
        self._redis.set(key, items, ex=self.ttl)
        self._redis.set(meta_key, json.dumps(metadata_of(request)), ex=self.ttl)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        items = self._redis.get(self._keys(request)[0])
        return [] if items is None else items_of(json.loads(items))

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "update")))
        key, meta_key = self._keys(request)
        ttl = self.ttl

        def script(redis: RedisServerStub) -> None:
            if not redis.exists(key):
                return
            redis.set(key, items, ex=ttl)
            if request.metadata is not None:
                redis.set(meta_key, json.dumps(metadata_of(request)), ex=ttl)
            elif ttl is not None:
                redis.expire(meta_key, ttl)

        self._redis.eval(script)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        self._redis.delete(*self._keys(request))


class AutocommitRowsManager(SqliteRowsManager):
    """SQL rows written in autocommit mode (no transaction around a write), items bound as TEXT:
    an item the driver cannot encode fails half-way, after the old items were deleted."""

    BREAKS = ("MM-ERR-003", "MM-FID-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._db.isolation_level = None

    def _write_items(self, slot_id: int, texts: tuple[str, ...]) -> None:
        self._db.execute("DELETE FROM items WHERE slot_id = ?", (slot_id,))
        self._db.executemany(
            "INSERT INTO items (slot_id, position, text) VALUES (?, ?, ?)",
            [(slot_id, position, text) for position, text in enumerate(texts)],
        )

    def _read_items(self, slot_id: int) -> list[str]:
        rows = self._db.execute(
            "SELECT text FROM items WHERE slot_id = ? ORDER BY position", (slot_id,)
        )
        return [str(row[0]) for row in rows]


class EtagAfterWriteManager(HeapExpiryManager):
    """After the write, ``store`` records an ETag of the slot (SHA-1 of the items' UTF-8) in an
    index: an item with a lone surrogate is written, then the encoding raises."""

    BREAKS = ("MM-ERR-003", "MM-FID-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._etags: dict[str, str] = {}

    def store(self, input: Any) -> str:
        request = self._request(input)
        key = super().store(request)
        digest = hashlib.sha1()
        for text in self._texts(request, "store"):
            digest.update(text.encode("utf-8") + b"\x00")
        with self._lock:
            self._etags[key] = digest.hexdigest()
        return key

    def delete(self, input: Any) -> None:
        super().delete(input)
        with self._lock:
            self._etags.pop(self._key(self._request(input)), None)


class JournalAfterMutateManager(DocumentStoreManager):
    """The document is changed in memory first and then serialised to a JSON journal: metadata
    that ``json.dumps`` refuses raises after the document already changed."""

    BREAKS = ("MM-ERR-003",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._journal: dict[str, str] = {}

    def _saved(self, doc_id: str) -> None:
        doc = self._docs.get(doc_id)
        if doc is None:
            self._journal.pop(doc_id, None)
        else:
            self._journal[doc_id] = json.dumps(doc)


class MetadataSecondStatementManager(_SqlSlotManager):
    """``update`` writes the items with one statement and the metadata with a second one, the
    metadata encoded in between, with no rollback on error: the items stay changed."""

    BREAKS = ("MM-ERR-003",)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "update")))
        with self._lock:
            now = self._clock()
            changed = self._db.execute(
                "UPDATE memories SET items = ?, expires_at = ?"
                f" WHERE conversation_id = ? AND memory_type = ? AND {self._LIVE}",
                (items, self._deadline(now), *self._pk(request), now),
            ).rowcount
            if changed and request.metadata is not None:
                self._db.execute(
                    "UPDATE memories SET metadata = ?"
                    " WHERE conversation_id = ? AND memory_type = ?",
                    (json.dumps(metadata_of(request)), *self._pk(request)),
                )
            self._db.commit()


class WriteThroughEncodeManager(TTLCacheManager):
    """A ``TTLCache`` in front of a byte store written through after it: the UTF-8 encoding for
    the byte store fails on a lone surrogate after the cache already holds the new items."""

    BREAKS = ("MM-ERR-003", "MM-FID-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._bytes: dict[str, bytes] = {}

    def _write_through(self, key: str, texts: tuple[str, ...]) -> None:
        self._bytes[key] = json.dumps(list(texts), ensure_ascii=False).encode("utf-8")

    def store(self, input: Any) -> str:
        request = self._request(input)
        texts = texts_of(request, "store")
        record = (texts, metadata_of(request))
        key = self._key(request)
        with self._lock, self._cache.timer:
            self._cache[key] = record
            self._write_through(key, texts)
        return key

    def update(self, input: Any) -> None:
        request = self._request(input)
        texts = texts_of(request, "update")
        given = None if request.metadata is None else metadata_of(request)
        key = self._key(request)
        with self._lock, self._cache.timer:
            current = self._cache.get(key)
            if current is not None:
                self._cache[key] = (texts, current[1] if given is None else given)
                self._write_through(key, texts)

    def delete(self, input: Any) -> None:
        super().delete(input)
        with self._lock:
            self._bytes.pop(self._key(self._request(input)), None)


REALISTIC: tuple[type, ...] = (
    # 1. scale
    TTLCache1024Manager,
    LRUCache65536Manager,
    TwoGenerationManager,
    SqlRowCapManager,
    InternedUidManager,
    ConversationCapDocManager,
    IdleSweepManager,
    # 2. size
    ListTrim300Manager,
    SelectLimit256Manager,
    Varchar255IdManager,
    KeyLength4096Manager,
    Varchar16383IdManager,
    ItemCap2MiBManager,
    TextColumn64KiBManager,
    # 3. key derivation
    Crc32KeyManager,
    Fnv1aKeyManager,
    JavaHashDocManager,
    Sha256Prefix8Manager,
    EnumFormatKeyManager,
    BlankIdManager,
    NocaseIdManager,
    PadSpaceIdManager,
    LegacyKeyManager,
    GlobDeleteManager,
    NfcIdDocManager,
    # 4. foreign input shapes
    ArshaiDefaultTypeManager,
    DictItemsByReferenceManager,
    RawMetadataJSONManager,
    FlatHashMetadataManager,
    FlatDocMetadataManager,
    LenientTypeManager,
    DictOnlyInputManager,
    PydanticOnlyInputManager,
    # 5. time
    MillisecondDeadlineManager,
    ThirtyDayCapManager,
    OnUpdateTimestampManager,
    SkipUnchangedStoreManager,
    MonotonicSweepManager,
    DeadlineBeforeCompressManager,
    OffByOneExpiryManager,
    CeilSecondsManager,
    StaleHeapEntryManager,
    KeepTtlUpdateManager,
    SlidingExpiryManager,
    # 6. concurrency
    UnlockedSweepManager,
    ExpiredReadEvictManager,
    CheckThenWriteUpdateManager,
    UnlockedCopyOnWriteManager,
    PurgeWithoutRecheckManager,
    PipelineNoMultiManager,
    AsyncGetThenSetManager,
    AsyncListStoreManager,
    AsyncPipelinedReplyManager,
    # 7. failure atomicity
    SplitMetadataKeyManager,
    AutocommitRowsManager,
    EtagAfterWriteManager,
    JournalAfterMutateManager,
    MetadataSecondStatementManager,
    WriteThroughEncodeManager,
)
