"""Correct memory managers written plainly, as teams that never saw memspec would write them.

Nothing here imports memspec: every manager reads its input by duck typing (an object with
``conversation_id``, ``memory_type``, ``data`` and ``metadata`` attributes, or a plain mapping
with those keys), validates it and its ``ttl`` itself, and returns items of its own class. Only
the standard library is used, plus ``pymemcache`` for :class:`MemcachedManager`.

The managers differ on purpose: locks, a copy-on-write map, SQLite rows, ``async`` methods, a
memcached server, refusal of long TTLs and of large items. ``PLAIN`` lists them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import hashlib
import heapq
import itertools
import json
import math
import numbers
import os
import sqlite3
import tempfile
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple

__all__ = [
    "PLAIN",
    "BoundedItemManager",
    "CopyOnWriteManager",
    "MemcachedManager",
    "PlainAsyncManager",
    "PlainDictManager",
    "PlainSqliteManager",
    "ThirtyDayManager",
]

#: Twelve hours, the framework's default lifetime of a slot.
DEFAULT_TTL = 43200

#: The longest expiry memcached reads as a relative number of seconds (30 days).
THIRTY_DAYS = 2_592_000

#: The string values of the framework's ``ConversationMemoryType`` enum.
MEMORY_TYPES = frozenset({"WORKING_MEMORY", "SHORT_TERM_MEMORY", "LONG_TERM_MEMORY"})

_ABSENT = object()


# --------------------------------------------------------------------------- shared helpers
# (The dict-based managers share these; the SQLite, copy-on-write and memcached managers read
# their input with code of their own, as separate teams would.)


def lifetime_seconds(ttl: Any) -> float | None:
    """The ``ttl`` as float seconds (``inf`` for an int too large for a float), ``None`` for
    no expiry. ``bool`` and non-numbers raise ``TypeError``; zero, negatives, NaN ``ValueError``."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real):
        raise TypeError(f"ttl must be a positive number of seconds or None, not {ttl!r}")
    try:
        seconds = float(ttl)
    except OverflowError:  # e.g. the int 10**400
        seconds = math.inf if ttl > 0 else -math.inf  # type: ignore[operator]
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
    return seconds


def checked_clock(clock: Callable[[], float] | None) -> Callable[[], float]:
    """The clock to use: ``time.monotonic`` unless one is injected (it must be callable)."""
    if clock is None:
        return time.monotonic
    if not callable(clock):
        raise TypeError(f"clock must be a callable returning seconds, not {clock!r}")
    return clock


def plain_copy(value: Any) -> Any:
    """A private copy of a JSON-shaped value: mappings become dicts, lists and tuples lists.

    Iterative, so that metadata nested deeper than Python's recursion limit is still copied.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        source, target, slot = stack.pop()
        if isinstance(source, Mapping):
            copy: Any = {}
            for key, item in list(source.items()):
                copy[key] = None
                stack.append((item, copy, key))
        elif isinstance(source, (list, tuple)):
            copy = [None] * len(source)
            for index, item in enumerate(list(source)):
                stack.append((item, copy, index))
        else:
            copy = source
        target[slot] = copy
    return root[0]


def json_ready(value: Any) -> Any:
    """Like :func:`plain_copy`, but ints too long for ``json`` (Python refuses to print more
    than 4300 digits) become ``{"$bigint": "<hex>"}``, so that any JSON metadata encodes."""
    copied = plain_copy(value)
    stack = [copied]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(pairs):
            if isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > 12000:
                node[key] = {"$bigint": hex(item)}
            elif isinstance(item, (dict, list)):
                stack.append(item)
    return copied


def memory_type_name(value: Any) -> str:
    """The memory type's string value: an enum member's ``value``, or the string itself;
    ``None`` means working memory. Anything else raises ``ValueError``."""
    if value is None:
        return "WORKING_MEMORY"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        name = str.__str__(value)
        if name in MEMORY_TYPES:
            return name
    raise ValueError(f"unknown memory type {value!r}")


def text_of(item: Any) -> str:
    """An item's ``working_memory`` text (attribute or mapping key), as an exact ``str``."""
    if isinstance(item, Mapping):
        text = item.get("working_memory", _ABSENT)
    else:
        text = getattr(item, "working_memory", _ABSENT)
    if text is _ABSENT:
        raise TypeError(f"memory item {type(item).__name__} has no 'working_memory'")
    if not isinstance(text, str):
        raise TypeError(f"working_memory must be a str, not {type(text).__name__}")
    return str.__str__(text)


class Request(NamedTuple):
    """One call's input, validated and copied out of the caller's objects."""

    conversation_id: str
    memory_type: str
    texts: tuple[str, ...] | None
    metadata: dict[str, Any] | None

    @property
    def slot(self) -> tuple[str, str]:
        return (self.memory_type, self.conversation_id)

    @property
    def key(self) -> str:
        # The memory type never holds a colon, so the first colon separates the two parts.
        return f"{self.memory_type}:{self.conversation_id}"

    def required_texts(self, operation: str) -> tuple[str, ...]:
        if not self.texts:
            raise ValueError(f"{operation} needs a non-empty 'data' list")
        return self.texts


def read_request(source: Any) -> Request:
    """Validate an input object or mapping; every field is checked, whatever the operation."""
    if isinstance(source, Mapping):

        def field(name: str) -> Any:
            return source.get(name)

        if "conversation_id" not in source:
            raise ValueError("the input has no 'conversation_id'")
    else:
        if not hasattr(source, "conversation_id"):
            raise TypeError(f"{type(source).__name__} is not a memory input")

        def field(name: str) -> Any:
            return getattr(source, name, None)

    conversation_id = field("conversation_id")
    if not isinstance(conversation_id, str):
        raise TypeError("conversation_id must be a str")
    if not conversation_id:
        raise ValueError("conversation_id must not be empty")
    memory_type = memory_type_name(field("memory_type"))
    data = field("data")
    texts: tuple[str, ...] | None = None
    if data is not None:
        if not isinstance(data, list):
            raise TypeError(f"data must be a list, not {type(data).__name__}")
        texts = tuple(text_of(item) for item in list(data))
    metadata = field("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
        metadata = plain_copy(metadata)
    return Request(str.__str__(conversation_id), memory_type, texts, metadata)


# --------------------------------------------------------------------------- 1. dict + lock


class PlainDictManager:
    """The textbook design: a dict of slots behind one ``threading.Lock``.

    Deadlines come from an injectable clock (``time.monotonic`` by default). A slot is checked
    against its deadline on every read; expired slots are also removed by a heap of deadlines,
    a bounded number per write (stale heap entries are skipped, the heap is rebuilt when it
    grows past twice the live slots).
    """

    PURGE_PER_WRITE = 64

    def __init__(self, ttl: Any = DEFAULT_TTL, clock: Callable[[], float] | None = None) -> None:
        self.ttl = ttl
        self._lifetime = lifetime_seconds(ttl)
        self.clock = checked_clock(clock)
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], list[Any]] = {}  # [texts, metadata, deadline, seq]
        self._heap: list[tuple[float, int, tuple[str, str]]] = []
        self._sequence = itertools.count()

    def _write(
        self, slot: tuple[str, str], texts: tuple[str, ...], metadata: Any, now: float
    ) -> None:
        deadline = None if self._lifetime is None else now + self._lifetime
        seq = next(self._sequence)
        self._slots[slot] = [texts, metadata, deadline, seq]
        if deadline is not None and deadline != math.inf:
            heapq.heappush(self._heap, (deadline, seq, slot))
        self._purge(now)

    def _purge(self, now: float) -> None:
        heap = self._heap
        for _ in range(self.PURGE_PER_WRITE):
            if not heap or heap[0][0] > now:
                break
            _, seq, slot = heapq.heappop(heap)
            record = self._slots.get(slot)
            if record is not None and record[3] == seq:
                del self._slots[slot]
        if len(heap) > 2 * len(self._slots) + 1024:
            self._heap = [
                (record[2], record[3], slot)
                for slot, record in self._slots.items()
                if record[2] is not None and record[2] != math.inf
            ]
            heapq.heapify(self._heap)

    def _live(self, slot: tuple[str, str], now: float) -> list[Any] | None:
        record = self._slots.get(slot)
        if record is None:
            return None
        if record[2] is not None and now >= record[2]:
            del self._slots[slot]
            return None
        return record

    def store(self, input: Any) -> str:
        request = read_request(input)
        texts = request.required_texts("store")
        with self._lock:
            self._write(request.slot, texts, request.metadata or {}, self.clock())
        return request.key

    def retrieve(self, input: Any) -> list[SimpleNamespace]:
        request = read_request(input)
        with self._lock:
            record = self._live(request.slot, self.clock())
            texts = record[0] if record is not None else ()
        return [SimpleNamespace(working_memory=text) for text in texts]

    def update(self, input: Any) -> None:
        request = read_request(input)
        texts = request.required_texts("update")
        with self._lock:
            now = self.clock()
            record = self._live(request.slot, now)
            if record is None:
                return
            metadata = record[1] if request.metadata is None else request.metadata
            self._write(request.slot, texts, metadata, now)

    def delete(self, input: Any) -> None:
        request = read_request(input)
        with self._lock:
            self._slots.pop(request.slot, None)


# --------------------------------------------------------------------------- 2. SQLite


@dataclasses.dataclass
class StoredNote:
    """An item as :class:`PlainSqliteManager` hands it back."""

    working_memory: str


class _DatabaseFile:
    """A temporary database file, removed (with its WAL files) when no manager uses it."""

    def __init__(self) -> None:
        handle, self.path = tempfile.mkstemp(prefix="plain-memory-", suffix=".sqlite3")
        os.close(handle)
        weakref.finalize(self, _remove_database, self.path)


def _remove_database(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


class PlainSqliteManager:
    """Rows in a SQLite table keyed by (conversation_id, memory_type), items as JSON text.

    One connection (``check_same_thread=False``, autocommit) guarded by a lock; each operation
    is one SQL statement, so managers over the same file (see :meth:`memspec_reopen`) stay
    atomic too. The expiry deadline is a column on an injectable clock: reads and updates
    compare it in their ``WHERE`` clause, and every hundredth write deletes expired rows
    through an index on the deadline. Conversation IDs are stored JSON-quoted (ASCII), item
    texts as ASCII JSON, so every Python string (lone surrogates included) round-trips.
    """

    CLEANUP_EVERY = 100

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS memory_slots ("
        " conversation TEXT NOT NULL,"
        " memory_type TEXT NOT NULL,"
        " items TEXT NOT NULL,"
        " metadata TEXT NOT NULL,"
        " deadline REAL,"
        " PRIMARY KEY (conversation, memory_type))",
        "CREATE INDEX IF NOT EXISTS memory_slots_deadline ON memory_slots (deadline)"
        " WHERE deadline IS NOT NULL",
    )

    def __init__(
        self,
        ttl: Any = DEFAULT_TTL,
        clock: Callable[[], float] | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))):
            raise TypeError(f"ttl must be an int, a float or None, not {type(ttl).__name__}")
        if ttl is not None and not ttl > 0:  # also catches NaN
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        if clock is not None and not callable(clock):
            raise TypeError("clock must be callable")
        self.ttl = ttl
        self.clock = clock if clock is not None else time.monotonic
        try:
            self._seconds = None if ttl is None else float(ttl)
        except OverflowError:
            self._seconds = math.inf
        self._file: _DatabaseFile | None = None
        if path is None:
            self._file = _DatabaseFile()
            path = self._file.path
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._writes = 0
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._closer = weakref.finalize(self, self._db.close)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # Working memory is a cache with a lifetime: no need to survive a power cut.
            self._db.execute("PRAGMA synchronous=OFF")
            for statement in self._SCHEMA:
                self._db.execute(statement)

    @classmethod
    def memspec_reopen(cls, manager: PlainSqliteManager) -> PlainSqliteManager:
        """A second manager over the same database file, with the same ttl and clock."""
        twin = cls(manager.ttl, manager.clock, path=manager.path)
        twin._file = manager._file  # keep a temporary file alive while either is in use
        return twin

    def close(self) -> None:
        """Close the connection (a temporary file goes once no manager refers to it)."""
        self._closer()

    # -- input

    @staticmethod
    def _parse(source: Any) -> tuple[str, str, list[str] | None, Any]:
        getter: Callable[[str], Any]
        if isinstance(source, Mapping):
            if "conversation_id" not in source:
                raise ValueError("missing conversation_id")
            getter = source.get
        elif hasattr(source, "conversation_id"):

            def getter(name: str) -> Any:
                return getattr(source, name, None)

        else:
            raise TypeError("expected a memory input with a conversation_id")
        conversation = getter("conversation_id")
        if type(conversation) is not str:
            if not isinstance(conversation, str):
                raise TypeError("conversation_id must be a string")
            conversation = str.__str__(conversation)
        if conversation == "":
            raise ValueError("conversation_id is empty")
        kind = getter("memory_type")
        if kind is None:
            kind = "WORKING_MEMORY"
        elif isinstance(kind, enum.Enum):
            kind = kind.value
        if isinstance(kind, str):
            kind = str.__str__(kind)
        if not isinstance(kind, str) or kind not in MEMORY_TYPES:
            raise ValueError(f"unknown memory_type {kind!r}")
        data = getter("data")
        texts: list[str] | None = None
        if data is not None:
            if not isinstance(data, list):
                raise TypeError("data must be a list")
            texts = []
            for item in list(data):
                if isinstance(item, Mapping):
                    if "working_memory" not in item:
                        raise TypeError("item without working_memory")
                    text = item["working_memory"]
                elif hasattr(item, "working_memory"):
                    text = item.working_memory
                else:
                    raise TypeError("item without working_memory")
                if not isinstance(text, str):
                    raise TypeError("working_memory must be a string")
                texts.append(str.__str__(text))
        metadata = getter("metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError("metadata must be a mapping")
        return conversation, kind, texts, metadata

    def _deadline(self, now: float) -> float | None:
        if self._seconds is None:
            return None
        deadline = now + self._seconds
        return deadline if math.isfinite(deadline) else None

    def _maybe_clean(self, now: float) -> None:
        self._writes += 1
        if self._writes % self.CLEANUP_EVERY == 0:
            self._db.execute("DELETE FROM memory_slots WHERE deadline <= ?", (now,))

    # -- operations

    def store(self, input: Any) -> str:
        conversation, kind, texts, metadata = self._parse(input)
        if not texts:
            raise ValueError("store needs at least one item in data")
        items = json.dumps(texts)
        meta = json.dumps(json_ready(metadata or {}))
        key = json.dumps(conversation)
        with self._lock:
            now = self.clock()
            self._db.execute(
                "INSERT INTO memory_slots VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (conversation, memory_type) DO UPDATE SET"
                " items = excluded.items, metadata = excluded.metadata,"
                " deadline = excluded.deadline",
                (key, kind, items, meta, self._deadline(now)),
            )
            self._maybe_clean(now)
        return f"{kind}/{key}"

    def retrieve(self, input: Any) -> list[StoredNote]:
        conversation, kind, _, _ = self._parse(input)
        with self._lock:
            row = self._db.execute(
                "SELECT items FROM memory_slots WHERE conversation = ? AND memory_type = ?"
                " AND (deadline IS NULL OR deadline > ?)",
                (json.dumps(conversation), kind, self.clock()),
            ).fetchone()
        if row is None:
            return []
        return [StoredNote(text) for text in json.loads(row[0])]

    def update(self, input: Any) -> None:
        conversation, kind, texts, metadata = self._parse(input)
        if not texts:
            raise ValueError("update needs at least one item in data")
        items = json.dumps(texts)
        meta = None if metadata is None else json.dumps(json_ready(metadata))
        with self._lock:
            now = self.clock()
            self._db.execute(
                "UPDATE memory_slots SET items = ?, metadata = COALESCE(?, metadata),"
                " deadline = ? WHERE conversation = ? AND memory_type = ?"
                " AND (deadline IS NULL OR deadline > ?)",
                (items, meta, self._deadline(now), json.dumps(conversation), kind, now),
            )
            self._maybe_clean(now)

    def delete(self, input: Any) -> None:
        conversation, kind, _, _ = self._parse(input)
        with self._lock:
            self._db.execute(
                "DELETE FROM memory_slots WHERE conversation = ? AND memory_type = ?",
                (json.dumps(conversation), kind),
            )


# --------------------------------------------------------------------------- 3. copy-on-write


class MemoryLine:
    """An item as :class:`CopyOnWriteManager` hands it back (a plain mutable object)."""

    def __init__(self, working_memory: str) -> None:
        self.working_memory = working_memory

    def __repr__(self) -> str:
        return f"MemoryLine({self.working_memory!r})"


class CopyOnWriteManager:
    """Readers take no lock: they read a published, never-mutated snapshot.

    The map is split into shards (immutable dicts in a list); a writer takes the lock, copies
    the one shard it changes (dropping that shard's expired entries as it copies), modifies
    the copy and publishes it with a single list assignment. Copying one shard rather than the
    whole map keeps writes cheap with 100,000 live slots. Time is real (``time.monotonic``);
    there is no clock parameter.
    """

    SHARDS = 4096

    def __init__(self, ttl: Any = DEFAULT_TTL) -> None:
        if ttl is None:
            self._life = None
        elif isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
            raise TypeError("ttl must be a number of seconds")
        elif isinstance(ttl, float) and math.isnan(ttl):
            raise ValueError("ttl must not be NaN")
        elif ttl <= 0:
            raise ValueError("ttl must be positive")
        else:
            self._life = float(ttl) if ttl < 1e300 else math.inf
        self.ttl = ttl
        self._shards: list[dict[tuple[str, str], tuple[tuple[str, ...], Any, float]]] = [
            {} for _ in range(self.SHARDS)
        ]
        self._write_lock = threading.Lock()

    @staticmethod
    def _read(source: Any) -> tuple[tuple[str, str], tuple[str, ...] | None, Any]:
        if isinstance(source, Mapping):
            values = dict(source)
            if "conversation_id" not in values:
                raise ValueError("conversation_id is required")
        else:
            try:
                values = {"conversation_id": source.conversation_id}
            except AttributeError:
                raise TypeError("not a memory input: no conversation_id") from None
            for name in ("memory_type", "data", "metadata"):
                values[name] = getattr(source, name, None)
        cid = values["conversation_id"]
        if not isinstance(cid, str) or not cid:
            raise (TypeError if not isinstance(cid, str) else ValueError)(
                "conversation_id must be a non-empty string"
            )
        kind = values.get("memory_type")
        if kind is None:
            kind = "WORKING_MEMORY"
        elif isinstance(kind, enum.Enum):
            kind = kind.value
        if isinstance(kind, str):
            kind = str.__str__(kind)
        if not isinstance(kind, str) or kind not in MEMORY_TYPES:
            raise ValueError(f"bad memory_type {kind!r}")
        data = values.get("data")
        texts = None
        if data is not None:
            if not isinstance(data, list):
                raise TypeError("data must be a list of memory items")
            texts = tuple(text_of(item) for item in list(data))
        metadata = values.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise TypeError("metadata must be a mapping")
            metadata = plain_copy(metadata)
        return (kind, str.__str__(cid)), texts, metadata

    def _shard(self, slot: tuple[str, str]) -> int:
        return hash(slot) % self.SHARDS

    def _expiry(self, now: float) -> float:
        return math.inf if self._life is None else now + self._life

    def _publish(self, slot: tuple[str, str], entry: Any, now: float) -> None:
        """Replace (or, with ``entry=None``, remove) one slot: copy its shard, publish it."""
        index = self._shard(slot)
        fresh = {key: old for key, old in self._shards[index].items() if now < old[2]}
        if entry is None:
            fresh.pop(slot, None)
        else:
            fresh[slot] = entry
        self._shards[index] = fresh

    def store(self, input: Any) -> str:
        slot, texts, metadata = self._read(input)
        if not texts:
            raise ValueError("store requires non-empty data")
        with self._write_lock:
            now = time.monotonic()
            self._publish(slot, (texts, metadata or {}, self._expiry(now)), now)
        return "|".join(slot)

    def retrieve(self, input: Any) -> list[MemoryLine]:
        slot, _, _ = self._read(input)
        now = time.monotonic()  # read the time before the snapshot, never after
        entry = self._shards[self._shard(slot)].get(slot)
        if entry is None or now >= entry[2]:
            return []
        return [MemoryLine(text) for text in entry[0]]

    def update(self, input: Any) -> None:
        slot, texts, metadata = self._read(input)
        if not texts:
            raise ValueError("update requires non-empty data")
        with self._write_lock:
            now = time.monotonic()
            entry = self._shards[self._shard(slot)].get(slot)
            if entry is None or now >= entry[2]:
                return
            kept = entry[1] if metadata is None else metadata
            self._publish(slot, (texts, kept, self._expiry(now)), now)

    def delete(self, input: Any) -> None:
        slot, _, _ = self._read(input)
        with self._write_lock:
            self._publish(slot, None, time.monotonic())


# --------------------------------------------------------------------------- 4. asyncio


class PlainAsyncManager:
    """``async def`` operations over a dict, as an asyncio service would write them.

    Each event loop gets its own ``asyncio.Lock`` (created on first use in that loop and
    forgotten with the loop), so the manager works from any loop. Because loops in different
    threads could share the manager, the short, await-free critical section also holds a
    ``threading.Lock``. Expired slots are dropped lazily when a call touches them.
    """

    def __init__(self, ttl: Any = DEFAULT_TTL, clock: Callable[[], float] | None = None) -> None:
        self.ttl = ttl
        self._lifetime = lifetime_seconds(ttl)
        self.clock = checked_clock(clock)
        self._slots: dict[tuple[str, str], tuple[tuple[str, ...], Any, float | None]] = {}
        self._loop_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._guard = threading.Lock()

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock

    def _current(self, slot: tuple[str, str], now: float) -> Any:
        entry = self._slots.get(slot)
        if entry is not None and entry[2] is not None and now >= entry[2]:
            del self._slots[slot]
            return None
        return entry

    def _deadline(self, now: float) -> float | None:
        return None if self._lifetime is None else now + self._lifetime

    async def store(self, input: Any) -> str:
        request = read_request(input)
        texts = request.required_texts("store")
        async with self._async_lock():
            with self._guard:
                now = self.clock()
                self._slots[request.slot] = (texts, request.metadata or {}, self._deadline(now))
        return request.key

    async def retrieve(self, input: Any) -> list[SimpleNamespace]:
        request = read_request(input)
        async with self._async_lock():
            with self._guard:
                entry = self._current(request.slot, self.clock())
        return [] if entry is None else [SimpleNamespace(working_memory=t) for t in entry[0]]

    async def update(self, input: Any) -> None:
        request = read_request(input)
        texts = request.required_texts("update")
        async with self._async_lock():
            with self._guard:
                now = self.clock()
                entry = self._current(request.slot, now)
                if entry is None:
                    return
                metadata = entry[1] if request.metadata is None else request.metadata
                self._slots[request.slot] = (texts, metadata, self._deadline(now))

    async def delete(self, input: Any) -> None:
        request = read_request(input)
        async with self._async_lock():
            with self._guard:
                self._slots.pop(request.slot, None)


# --------------------------------------------------------------------------- 5. memcached


class CachedMemory:
    """An item as :class:`MemcachedManager` hands it back."""

    def __init__(self, working_memory: str) -> None:
        self.working_memory = working_memory


class MemcachedManager:
    """Slots in a memcached server, through ``pymemcache``'s thread-safe ``PooledClient``.

    The memcached key is ``plainmem:`` plus the SHA-256 of (namespace, memory type,
    conversation ID); the value holds the full conversation ID and memory type, checked on
    every read, so two IDs never share a slot whatever their length. The value is a JSON
    header (ID, type, wall-clock deadline, metadata, item lengths) followed by the raw UTF-8
    item texts. The deadline is checked on every read to the millisecond; memcached's own
    expiry (``ceil(ttl) + 2`` seconds, or none when that would pass 30 days) only collects
    garbage. ``store`` is a plain ``set``; ``update`` is a ``gets``/``cas`` loop, so it never
    brings back a slot deleted or expired meanwhile, across threads and across managers on
    the same server. A ttl above 30 days is refused (memcached would read it as a Unix
    time), and so is a value larger than :attr:`MAX_VALUE_BYTES`, before anything is written.
    """

    #: Deadlines are wall-clock times; a write reaches the server a little after its deadline
    #: was computed.
    expiry_precision = 0.005

    #: memcached's item size limit is 1 MiB (key and item header included); keep headroom.
    MAX_VALUE_BYTES = 1_000_000

    def __init__(
        self,
        ttl: Any = DEFAULT_TTL,
        *,
        server: str | tuple[str, int] | None = None,
        namespace: str | None = None,
    ) -> None:
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
                raise TypeError(f"ttl must be seconds (int or float) or None, not {ttl!r}")
            if isinstance(ttl, float) and math.isnan(ttl):
                raise ValueError("ttl must not be NaN")
            if ttl <= 0:
                raise ValueError(f"ttl must be positive, not {ttl!r}")
            if ttl > THIRTY_DAYS:
                raise ValueError(
                    f"ttl {ttl!r} exceeds memcached's 30-day relative expiry ({THIRTY_DAYS} s)"
                )
        self.ttl = ttl
        self._seconds = None if ttl is None else float(ttl)
        if server is None:
            server = os.environ.get("MEMSPEC_MEMCACHED")
            if not server:
                raise ValueError("no memcached server: pass server= or set MEMSPEC_MEMCACHED")
        self.server = server
        self.namespace = namespace if namespace is not None else uuid.uuid4().hex
        if not isinstance(self.namespace, str):
            raise TypeError("namespace must be a str")
        from pymemcache.client.base import PooledClient

        self._client = PooledClient(
            self._address(server),
            connect_timeout=5,
            timeout=30,
            no_delay=True,
            default_noreply=False,
        )

    @staticmethod
    def _address(server: str | tuple[str, int]) -> tuple[str, int]:
        if isinstance(server, tuple):
            return server
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"memcached server must be 'host:port', not {server!r}")
        return host.strip("[]"), int(port)

    @classmethod
    def memspec_reopen(cls, manager: MemcachedManager) -> MemcachedManager:
        """A second manager over the same server and namespace, with the same ttl."""
        return cls(manager.ttl, server=manager.server, namespace=manager.namespace)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    # -- input and encoding

    @staticmethod
    def _request(source: Any) -> tuple[str, str, list[str] | None, Any]:
        if isinstance(source, Mapping):
            fields = {
                name: source.get(name)
                for name in ("conversation_id", "memory_type", "data", "metadata")
            }
            if "conversation_id" not in source:
                raise ValueError("input lacks conversation_id")
        elif hasattr(source, "conversation_id"):
            fields = {
                name: getattr(source, name, None)
                for name in ("conversation_id", "memory_type", "data", "metadata")
            }
        else:
            raise TypeError("input must have a conversation_id")
        cid = fields["conversation_id"]
        if not isinstance(cid, str):
            raise TypeError("conversation_id must be str")
        if len(cid) == 0:
            raise ValueError("conversation_id must be non-empty")
        kind = memory_type_name(fields["memory_type"])
        data = fields["data"]
        texts = None
        if data is not None:
            if not isinstance(data, list):
                raise TypeError("data must be a list")
            texts = [text_of(item) for item in list(data)]
        metadata = fields["metadata"]
        if metadata is not None and not isinstance(metadata, Mapping):
            raise TypeError("metadata must be a mapping")
        return str.__str__(cid), kind, texts, metadata

    def _key(self, cid: str, kind: str) -> str:
        material = json.dumps([self.namespace, kind, cid]).encode("ascii")
        return "plainmem:" + hashlib.sha256(material).hexdigest()

    def _encode(
        self, cid: str, kind: str, texts: list[str], metadata_json: str, deadline: float | None
    ) -> bytes:
        bodies = [text.encode("utf-8", "surrogatepass") for text in texts]
        header = json.dumps(
            {
                "conversation_id": cid,
                "memory_type": kind,
                "deadline": deadline,
                "lengths": [len(body) for body in bodies],
            }
        )
        # Metadata is already JSON text; splice it in rather than parse it again.
        header_bytes = (header[:-1] + ', "metadata": ' + metadata_json + "}").encode("ascii")
        value = len(header_bytes).to_bytes(4, "big") + header_bytes + b"".join(bodies)
        if len(value) > self.MAX_VALUE_BYTES:
            raise ValueError(
                f"this write needs {len(value)} bytes; memcached items hold at most "
                f"{self.MAX_VALUE_BYTES} bytes here"
            )
        return value

    @staticmethod
    def _decode(value: bytes) -> tuple[dict[str, Any], list[str]]:
        size = int.from_bytes(value[:4], "big")
        header = json.loads(value[4 : 4 + size].decode("ascii"))
        texts, offset = [], 4 + size
        for length in header["lengths"]:
            texts.append(value[offset : offset + length].decode("utf-8", "surrogatepass"))
            offset += length
        return header, texts

    def _live(self, value: Any, cid: str, kind: str) -> tuple[dict[str, Any], list[str]] | None:
        if value is None:
            return None
        header, texts = self._decode(value)
        if header["conversation_id"] != cid or header["memory_type"] != kind:
            return None  # another slot's value under this key: never shown as this slot's
        deadline = header["deadline"]
        if deadline is not None and time.time() >= deadline:
            return None
        return header, texts

    def _expire(self) -> int:
        if self._seconds is None:
            return 0
        seconds = math.ceil(self._seconds) + 2
        return seconds if seconds <= THIRTY_DAYS else 0

    def _deadline(self) -> float | None:
        return None if self._seconds is None else time.time() + self._seconds

    # -- operations

    def store(self, input: Any) -> str:
        cid, kind, texts, metadata = self._request(input)
        if not texts:
            raise ValueError("store needs a non-empty data list")
        metadata_json = json.dumps(json_ready(metadata or {}))
        key = self._key(cid, kind)
        value = self._encode(cid, kind, texts, metadata_json, self._deadline())
        if not self._client.set(key, value, expire=self._expire()):
            raise RuntimeError("memcached did not store the slot")
        return key

    def retrieve(self, input: Any) -> list[CachedMemory]:
        cid, kind, _, _ = self._request(input)
        live = self._live(self._client.get(self._key(cid, kind)), cid, kind)
        return [] if live is None else [CachedMemory(text) for text in live[1]]

    def update(self, input: Any) -> None:
        cid, kind, texts, metadata = self._request(input)
        if not texts:
            raise ValueError("update needs a non-empty data list")
        given = None if metadata is None else json.dumps(json_ready(metadata))
        key = self._key(cid, kind)
        for attempt in itertools.count():
            value, token = self._client.gets(key)
            live = self._live(value, cid, kind)
            if live is None:
                return  # missing, expired or another slot's: nothing happens
            header = live[0]
            metadata_json = given if given is not None else json.dumps(header["metadata"])
            new_value = self._encode(cid, kind, texts, metadata_json, self._deadline())
            if header["deadline"] is not None and time.time() >= header["deadline"]:
                return  # expired while we prepared the new value
            outcome = self._client.cas(key, new_value, token, expire=self._expire())
            if outcome is None:
                return  # deleted (or collected) meanwhile: do not bring it back
            if outcome:
                return
            if attempt >= 8:
                time.sleep(0.0005)

    def delete(self, input: Any) -> None:
        cid, kind, _, _ = self._request(input)
        self._client.delete(self._key(cid, kind))


# --------------------------------------------------------------------------- 6. 30-day bound


@dataclasses.dataclass
class _Slot:
    texts: tuple[str, ...]
    metadata: dict[str, Any]
    expires_at: float  # math.inf: never


@dataclasses.dataclass
class Remembered:
    """An item as :class:`ThirtyDayManager` hands it back."""

    working_memory: str


class ThirtyDayManager:
    """A dict-and-lock manager written for a memcached-backed deployment: it refuses any ttl
    above 30 days at construction, as memcached would misread it.

    Slots are dataclasses in an ``OrderedDict`` kept in write order. With one ttl and a clock
    that does not go back, write order is deadline order, so clean-up pops expired slots from
    the front (and stops at the first live one); reads also check the deadline themselves.
    """

    MAX_TTL = THIRTY_DAYS

    def __init__(self, ttl: Any = DEFAULT_TTL, clock: Callable[[], float] | None = None) -> None:
        seconds = lifetime_seconds(ttl)
        if seconds is not None and seconds > self.MAX_TTL:
            raise ValueError(f"ttl {ttl!r} is longer than 30 days ({self.MAX_TTL} s)")
        self.ttl = ttl
        self._seconds = seconds
        self.clock = checked_clock(clock)
        self._slots: OrderedDict[tuple[str, str], _Slot] = OrderedDict()
        self._lock = threading.RLock()

    def _expires_at(self, now: float) -> float:
        return math.inf if self._seconds is None else now + self._seconds

    def _sweep(self, now: float) -> None:
        while self._slots:
            slot, entry = next(iter(self._slots.items()))
            if now < entry.expires_at:
                return
            del self._slots[slot]

    def _get(self, slot: tuple[str, str], now: float) -> _Slot | None:
        entry = self._slots.get(slot)
        if entry is None or now >= entry.expires_at:
            return None
        return entry

    def _put(self, slot: tuple[str, str], entry: _Slot, now: float) -> None:
        self._slots[slot] = entry
        self._slots.move_to_end(slot)
        self._sweep(now)

    def store(self, input: Any) -> str:
        request = read_request(input)
        texts = request.required_texts("store")
        with self._lock:
            now = self.clock()
            entry = _Slot(texts, request.metadata or {}, self._expires_at(now))
            self._put(request.slot, entry, now)
        return request.key

    def retrieve(self, input: Any) -> list[Remembered]:
        request = read_request(input)
        with self._lock:
            entry = self._get(request.slot, self.clock())
            texts = () if entry is None else entry.texts
        return [Remembered(text) for text in texts]

    def update(self, input: Any) -> None:
        request = read_request(input)
        texts = request.required_texts("update")
        with self._lock:
            now = self.clock()
            entry = self._get(request.slot, now)
            if entry is None:
                return
            metadata = entry.metadata if request.metadata is None else request.metadata
            self._put(request.slot, _Slot(texts, metadata, self._expires_at(now)), now)

    def delete(self, input: Any) -> None:
        request = read_request(input)
        with self._lock:
            self._slots.pop(request.slot, None)


# --------------------------------------------------------------------------- 7. item bound


class BoundedItemManager:
    """A dict-and-lock manager with a per-item size bound: any write containing an item whose
    text is longer than 256 KiB of UTF-8 is refused with ``ValueError`` before anything
    changes (a lone surrogate counts as the three bytes it takes in a lenient encoding).
    Expired slots are dropped lazily when a call touches them; an injectable clock is taken.
    """

    MAX_ITEM_BYTES = 262_144

    def __init__(self, ttl: Any = DEFAULT_TTL, clock: Callable[[], float] | None = None) -> None:
        self.ttl = ttl
        self._lifetime = lifetime_seconds(ttl)
        self.clock = checked_clock(clock)
        self._lock = threading.Lock()
        self._data: dict[str, tuple[tuple[str, ...], Any, float | None]] = {}

    def _checked(self, texts: tuple[str, ...]) -> tuple[str, ...]:
        for index, text in enumerate(texts):
            if len(text) * 4 <= self.MAX_ITEM_BYTES:
                continue  # cannot be too long, whatever it holds
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > self.MAX_ITEM_BYTES:
                raise ValueError(
                    f"item {index} is {size} bytes of UTF-8; the limit is {self.MAX_ITEM_BYTES}"
                )
        return texts

    def _fetch(self, key: str, now: float) -> Any:
        entry = self._data.get(key)
        if entry is not None and entry[2] is not None and now >= entry[2]:
            del self._data[key]
            return None
        return entry

    def store(self, input: Any) -> str:
        request = read_request(input)
        texts = self._checked(request.required_texts("store"))
        with self._lock:
            now = self.clock()
            deadline = None if self._lifetime is None else now + self._lifetime
            self._data[request.key] = (texts, request.metadata or {}, deadline)
        return request.key

    def retrieve(self, input: Any) -> list[SimpleNamespace]:
        request = read_request(input)
        with self._lock:
            entry = self._fetch(request.key, self.clock())
        return [] if entry is None else [SimpleNamespace(working_memory=t) for t in entry[0]]

    def update(self, input: Any) -> None:
        request = read_request(input)
        texts = self._checked(request.required_texts("update"))
        with self._lock:
            now = self.clock()
            entry = self._fetch(request.key, now)
            if entry is None:
                return
            deadline = None if self._lifetime is None else now + self._lifetime
            metadata = entry[1] if request.metadata is None else request.metadata
            self._data[request.key] = (texts, metadata, deadline)

    def delete(self, input: Any) -> None:
        request = read_request(input)
        with self._lock:
            self._data.pop(request.key, None)


PLAIN = (
    PlainDictManager,
    PlainSqliteManager,
    CopyOnWriteManager,
    PlainAsyncManager,
    MemcachedManager,
    ThirtyDayManager,
    BoundedItemManager,
)
