"""A third held-out corpus: ten managers written the way real projects write them, each with one
realistic bug that breaks at least one MUST requirement of the catalogue.

Like the first two held-out sets, it was written without looking at how the conformance suite
checks anything, and without repeating a kind of bug the other corpora already hold, so the share
of it that the suite catches is an honest measure of the suite's power on code it was never tuned
on. Each design follows real code (session files named with pathvalidate, DynamoDB single-table
sort keys, pymemcache, FastAPI's ``jsonable_encoder``, Chroma's metadata rules, Lua scripts on
Redis, Firestore documents, keyed-lock registries, Django's cache API, singleflight read
coalescing); the docstring of each class names it and states the bug. ``BREAKS`` lists the MUST
requirements the bug violates by a plain reading of their statements, and ``RACE = True`` marks a
bug that shows only under concurrency.

Backends that are servers in real life (memcached, Redis, Firestore) and the session directory
are simulated in process with the semantics that matter for the bug; SQLite is used directly.
Everything else about each manager is meant to be correct: validation before any change, snapshots
of the caller's data, expiry checked on every read with the injected clock, lifetimes restarted by
every write, one lock per operation.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import json
import math
import pickle
import random
import re
import sqlite3
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from memspec import (
    IMemoryInput,
    IWorkingMemory,
    MemoryBackendError,
    as_memory_input,
    copy_metadata,
    require_data,
)
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl
from pydantic import BaseModel

__all__ = [
    "HELDOUT3",
    "AsyncSingleFlightManager",
    "ChromaMetadataManager",
    "DjangoCacheAddManager",
    "FirestoreSetWithoutMergeManager",
    "JsonableEncoderInputManager",
    "KeyedLockHistoryManager",
    "LuaUnpackScriptManager",
    "MemcachedLongTtlManager",
    "SanitizedFilenameManager",
    "ZeroPaddedSortKeyManager",
]


def _texts(request: IMemoryInput, operation: str) -> tuple[str, ...]:
    """The strings a store or update writes; ``ValueError`` when ``data`` is missing or empty."""
    return tuple(item.working_memory for item in require_data(request, operation))


def _lifetime(ttl: float | None) -> float:
    return math.inf if ttl is None else ttl


def _expires_at(ttl: float | None, now: float) -> float | None:
    return None if ttl is None else now + ttl


def _is_live(expires_at: float | None, now: float) -> bool:
    return expires_at is None or now < expires_at


def _items(texts: Iterable[str]) -> list[IWorkingMemory]:
    return [IWorkingMemory(working_memory=text) for text in texts]


# --------------------------------------------------------------------------- 1. key derivation

_INVALID_FILENAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED_FILENAMES = frozenset(
    {"CON", "PRN", "AUX", "CLOCK$", "NUL"}
    | {f"{device}{number}" for device in ("COM", "LPT") for number in range(1, 10)}
)


def sanitize_filename(name: str, max_len: int = 255) -> str:
    """pathvalidate's ``sanitize_filename(name)`` for its default "universal" platform: remove
    the characters some file system refuses, cut to ``max_len``, strip trailing spaces and
    periods (Windows refuses them), and append ``_`` to a reserved device name."""
    sanitized = _INVALID_FILENAME_CHARS.sub("", name)[:max_len].rstrip(" .")
    if sanitized.upper() in _RESERVED_FILENAMES:
        sanitized += "_"
    return sanitized


class _SessionDirectory:
    """A directory of session files, in process. A file is replaced whole, the way file-backed
    histories write one (a temporary file, then ``os.replace``)."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}

    def read_bytes(self, path: str) -> bytes | None:
        return self._files.get(path)

    def replace(self, path: str, data: bytes) -> None:
        temporary = f"{path}.tmp"
        self._files[temporary] = data
        self._files[path] = self._files.pop(temporary)

    def unlink(self, path: str) -> None:
        self._files.pop(path, None)


class SanitizedFilenameManager:
    """One JSON session file per slot, ``{root}/{memory_type}/{name}.json``, the layout of
    file-backed chat histories (LangChain's ``FileChatMessageHistory`` with a file per session),
    the file name made safe with pathvalidate's ``sanitize_filename``; the directory is simulated
    in process. Bug: the sanitiser is not injective. It removes ``\\ / : * ? " < > |`` and
    control characters, strips trailing spaces and periods and cuts names at 255 characters, so
    ``"a:b"`` and ``"ab"``, ``"x "`` and ``"x"``, ``"*"`` and ``"?"``, or two 1 KiB IDs with a
    common 255-character prefix share one file: one conversation reads, overwrites, updates and
    deletes the other's memory, and ``store`` returns the same key (the path) for both."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-DEL-002",
        "MM-DEL-003",
        "MM-ISO-001",
        "MM-ISO-003",
        "MM-LIMIT-004",
        "MM-RETR-002",
        "MM-STORE-009",
        "MM-UPD-003",
    )

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        root: str = "sessions",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self.root = root
        self._files = _SessionDirectory()
        self._lock = threading.Lock()

    def _path(self, request: IMemoryInput) -> str:
        name = sanitize_filename(request.conversation_id)
        return f"{self.root}/{request.memory_type.value}/{name}.json"

    def _load(self, path: str, now: float) -> dict[str, Any] | None:
        raw = self._files.read_bytes(path)
        if raw is None:
            return None
        session: dict[str, Any] = json.loads(raw)
        return session if _is_live(session["expires_at"], now) else None

    def _save(
        self, path: str, texts: tuple[str, ...], metadata: dict[str, Any], now: float
    ) -> None:
        session = {
            "messages": list(texts),
            "metadata": metadata,
            "expires_at": _expires_at(self.ttl, now),
        }
        self._files.replace(path, json.dumps(session).encode("ascii"))

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        path = self._path(request)
        with self._lock:
            self._save(path, texts, metadata, self._clock())
        return path

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        path = self._path(request)
        with self._lock:
            session = self._load(path, self._clock())
        return [] if session is None else _items(session["messages"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        path = self._path(request)
        with self._lock:
            now = self._clock()
            session = self._load(path, now)
            if session is None:
                return
            self._save(path, texts, session["metadata"] if given is None else given, now)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        path = self._path(request)
        with self._lock:
            self._files.unlink(path)


# --------------------------------------------------------------------------- 2. sizes

_SINGLE_TABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    body TEXT,
    metadata TEXT,
    expires_at REAL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_expiry ON memory (expires_at) WHERE expires_at IS NOT NULL;
"""


class ZeroPaddedSortKeyManager:
    """A DynamoDB single-table design ported to SQLite: partition key ``CONV#{conversation_id}``,
    a head row ``{memory_type}#HEAD`` with the metadata and the deadline, and one row per item
    under the sort key ``{memory_type}#ITEM#{position:04d}``, zero-padded as the DynamoDB
    guidance says so that string order is numeric order; items are read back with a
    ``begins_with`` range in sort-key order, as a DynamoDB Query returns them. One transaction
    per write. Bug: four digits of padding are not enough: from position 10,000 on the sort key
    has five digits, and ``ITEM#10000`` sorts between ``ITEM#1000`` and ``ITEM#1001``, so a
    write of more than 10,000 items comes back reordered."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-RETR-001", "MM-STORE-002", "MM-UPD-002")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(_SINGLE_TABLE_SCHEMA)
        self._lock = threading.Lock()

    @staticmethod
    def _pk(request: IMemoryInput) -> str:
        return f"CONV#{request.conversation_id}"

    def _head(self, pk: str, memory_type: str, now: float) -> tuple[str] | None:
        row: tuple[str] | None = self._db.execute(
            "SELECT metadata FROM memory WHERE pk = ? AND sk = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (pk, f"{memory_type}#HEAD", now),
        ).fetchone()
        return row

    def _clear(self, pk: str, memory_type: str) -> None:
        # Every sort key of the slot begins with "{memory_type}#"; "$" follows "#".
        self._db.execute(
            "DELETE FROM memory WHERE pk = ? AND sk >= ? AND sk < ?",
            (pk, f"{memory_type}#", f"{memory_type}$"),
        )

    def _put(
        self, pk: str, memory_type: str, texts: tuple[str, ...], metadata: str, now: float
    ) -> None:
        self._clear(pk, memory_type)
        self._db.execute(
            "INSERT INTO memory (pk, sk, metadata, expires_at) VALUES (?, ?, ?, ?)",
            (pk, f"{memory_type}#HEAD", metadata, _expires_at(self.ttl, now)),
        )
        self._db.executemany(
            "INSERT INTO memory (pk, sk, body) VALUES (?, ?, ?)",
            [
                (pk, f"{memory_type}#ITEM#{position:04d}", text)
                for position, text in enumerate(texts)
            ],
        )

    def _purge(self, now: float) -> None:
        expired = self._db.execute(
            "SELECT pk, sk FROM memory WHERE expires_at <= ? ORDER BY expires_at LIMIT 16",
            (now,),
        ).fetchall()
        for pk, sk in expired:
            self._clear(pk, sk.split("#", 1)[0])

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = json.dumps(copy_metadata(request.metadata) or {})
        pk, memory_type = self._pk(request), request.memory_type.value
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            self._put(pk, memory_type, texts, metadata, now)
        return f"{pk}|{memory_type}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        pk, memory_type = self._pk(request), request.memory_type.value
        with self._lock:
            if self._head(pk, memory_type, self._clock()) is None:
                return []
            rows = self._db.execute(
                "SELECT body FROM memory WHERE pk = ? AND sk >= ? AND sk < ? ORDER BY sk",
                (pk, f"{memory_type}#ITEM#", f"{memory_type}#ITEM$"),
            ).fetchall()
        return _items(str(body) for (body,) in rows)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        pk, memory_type = self._pk(request), request.memory_type.value
        with self._lock, self._db:
            now = self._clock()
            head = self._head(pk, memory_type, now)
            if head is None:
                return
            metadata = str(head[0]) if given is None else json.dumps(given)
            self._put(pk, memory_type, texts, metadata, now)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock, self._db:
            self._clear(self._pk(request), request.memory_type.value)


# --------------------------------------------------------------------------- 3. expiry

#: memcached reads an exptime up to this many seconds (30 days) as relative to now.
_MEMCACHED_MAX_RELATIVE_EXPTIME = 60 * 60 * 24 * 30


class _MemcachedServer:
    """memcached's storage commands, in process, with its expiration rule (protocol.txt): an
    exptime of 0 never expires, a negative one has expired already, one of at most 30 days is
    seconds from now, and a larger one is an absolute Unix time. The server read the wall clock
    once, when it started; from then on its Unix time runs with the injected clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._unix_minus_clock = time.time() - clock()
        self._items: dict[bytes, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _deadline(self, exptime: int, now: float) -> float:
        if exptime == 0:
            return math.inf
        if exptime < 0:
            return -math.inf
        if exptime > _MEMCACHED_MAX_RELATIVE_EXPTIME:
            return exptime - self._unix_minus_clock  # an absolute Unix time, on this clock
        return now + exptime

    def set(self, key: bytes, value: bytes, exptime: int) -> bytes:
        with self._lock:
            self._items[key] = (value, self._deadline(exptime, self._clock()))
        return b"STORED"

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if self._clock() >= item[1]:
                del self._items[key]
                return None
            return item[0]

    def delete(self, key: bytes) -> bytes:
        with self._lock:
            return b"DELETED" if self._items.pop(key, None) is not None else b"NOT_FOUND"


class _PymemcacheClient:
    """``pymemcache.Client`` as far as used here; ``expire`` goes to the server as it is."""

    def __init__(self, server: _MemcachedServer) -> None:
        self._server = server

    def set(self, key: str, value: bytes, expire: int = 0) -> bool:
        return self._server.set(key.encode("ascii"), value, expire) == b"STORED"

    def get(self, key: str) -> bytes | None:
        return self._server.get(key.encode("ascii"))

    def delete(self, key: str) -> bool:
        return self._server.delete(key.encode("ascii")) == b"DELETED"


class MemcachedLongTtlManager:
    """One memcached item per slot through pymemcache: a SHA-256 key, a JSON value holding the
    exact deadline (checked on every read), and ``expire=ceil(ttl) + 1`` so that memcached frees
    the item a second after it is dead. Bug: pymemcache passes ``expire`` through unchanged, and
    memcached reads an exptime over 30 days (2,592,000 s) as an absolute Unix time (Django's
    memcached backend converts such timeouts; this code does not). With a TTL over 30 days the
    item gets a deadline in the past (1970-1971 for TTLs under a year: gone at once) or, for
    TTLs past ~55 years, a fixed date decades too early that no later write moves."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-RETR-001",
        "MM-STORE-002",
        "MM-TTL-001",
        "MM-TTL-004",
    )

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._client = _PymemcacheClient(_MemcachedServer(self._clock))
        # memcached counts whole seconds; its expiry is a backstop after the exact deadline.
        self._expire = 0 if self.ttl is None else math.ceil(self.ttl) + 1
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        name = f"{request.memory_type.value}\x00{request.conversation_id}"
        return "wm:" + hashlib.sha256(name.encode("utf-8")).hexdigest()

    def _encode(self, request: IMemoryInput, texts: tuple[str, ...], metadata: Any) -> bytes:
        record = {
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type.value,
            "items": list(texts),
            "metadata": metadata,
            "expires_at": _expires_at(self.ttl, self._clock()),
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
        return record if _is_live(record["expires_at"], self._clock()) else None

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._lock:
            self._client.set(key, self._encode(request, texts, metadata), expire=self._expire)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            record = self._live(request)
        return [] if record is None else _items(record["items"])

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
            self._client.set(self._key(request), value, expire=self._expire)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._client.delete(self._key(request))


# --------------------------------------------------------------------------- 4. foreign inputs

_INPUT_FIELDS = tuple(IMemoryInput.model_fields)


def _plain_fields(obj: Any) -> dict[str, Any]:
    """A dict of ``obj``'s fields, got the way FastAPI's ``jsonable_encoder`` gets one: a
    pydantic model dumps itself, a dataclass goes through ``asdict``, and anything else is
    tried as ``dict(obj)`` and then as ``vars(obj)``."""
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    errors: list[Exception] = []
    try:
        return dict(obj)
    except Exception as exc:
        errors.append(exc)
    try:
        return dict(vars(obj))
    except Exception as exc:
        errors.append(exc)
        raise ValueError(f"cannot read a {type(obj).__name__} as a memory input: {errors}") from exc


def _plain_item(item: Any) -> Any:
    if isinstance(item, IWorkingMemory | Mapping):
        return item
    fields = _plain_fields(item)
    if "working_memory" in fields:
        return {"working_memory": fields["working_memory"]}
    return fields


def _from_foreign(input: Any) -> IMemoryInput:
    """``input`` as an ``IMemoryInput``: memspec's own inputs and mappings are validated as they
    are; another framework's object is turned into a dict of the known fields first."""
    if input is None or isinstance(input, IMemoryInput | Mapping):
        return as_memory_input(input)
    fields = _plain_fields(input)
    known = {name: fields[name] for name in _INPUT_FIELDS if name in fields}
    data = known.get("data")
    if isinstance(data, list | tuple):
        known["data"] = [_plain_item(item) for item in data]
    return as_memory_input(known)


class JsonableEncoderInputManager:
    """A dict of slots under one lock (Arshai's in-memory layout) in a FastAPI service, whose
    input adapter normalises other frameworks' objects the way FastAPI's ``jsonable_encoder``
    does before validating them as ``IMemoryInput``: ``model_dump()`` for pydantic models,
    ``asdict`` for dataclasses, else ``dict(obj)``, else ``vars(obj)``, keeping the known
    fields. Bug: ``vars()`` sees only an instance ``__dict__``: an input or item of a class with
    ``__slots__`` (attrs' ``@define``, msgspec), or whose fields are properties or class
    attributes (an adapter over another model), is refused, or read with a field missing."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-INPUT-002",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._slots: dict[str, tuple[tuple[str, ...], dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    def _live(self, key: str) -> tuple[tuple[str, ...], dict[str, Any], float] | None:
        entry = self._slots.get(key)
        if entry is None or self._clock() >= entry[2]:
            return None
        return entry

    def store(self, input: Any) -> str:
        request = _from_foreign(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._lock:
            self._slots[key] = (texts, metadata, self._clock() + self._lifetime)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = _from_foreign(input)
        with self._lock:
            entry = self._live(self._key(request))
        return [] if entry is None else _items(entry[0])

    def update(self, input: Any) -> None:
        request = _from_foreign(input)
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
        request = _from_foreign(input)
        with self._lock:
            self._slots.pop(self._key(request), None)


# --------------------------------------------------------------------------- 5. metadata

_CHROMA_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    expires_at REAL,
    UNIQUE (conversation_id, memory_type)
);
CREATE INDEX IF NOT EXISTS embeddings_expiry ON embeddings (expires_at);
CREATE TABLE IF NOT EXISTS documents (
    embedding_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (embedding_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS embedding_metadata (
    id INTEGER NOT NULL,
    key TEXT NOT NULL,
    string_value TEXT,
    int_value INTEGER,
    float_value REAL,
    bool_value INTEGER,
    PRIMARY KEY (id, key)
) WITHOUT ROWID;
"""

_MetadataRow = tuple[str, str | None, int | None, float | None, int | None]


def validate_chroma_metadata(metadata: dict[str, Any]) -> list[_MetadataRow]:
    """Chroma's ``validate_metadata``, then its ``embedding_metadata`` rows: every value must be
    a str, int, float or bool. An empty mapping gives no rows (LangChain's Chroma wrapper sends
    ``None`` for it, since Chroma refuses an empty dict)."""
    rows: list[_MetadataRow] = []
    for key, value in metadata.items():
        if isinstance(value, bool):
            rows.append((key, None, None, None, int(value)))
        elif isinstance(value, int):
            rows.append((key, None, value, None, None))
        elif isinstance(value, float):
            rows.append((key, None, None, value, None))
        elif isinstance(value, str):
            rows.append((key, value, None, None, None))
        else:
            raise ValueError(
                f"Expected metadata value to be a str, int, float or bool, got {value!r} which "
                f"is a {type(value).__name__} (metadata[{key!r}])"
            )
    return rows


class ChromaMetadataManager:
    """Chroma's SQLite layout for a memory store (mem0 and LangChain keep agent memory in
    Chroma): a row per slot, its items as ``documents`` in order, its metadata as key/value rows
    of ``embedding_metadata`` with typed value columns, one transaction per write. Bug: metadata
    goes through Chroma's ``validate_metadata`` rules, so a ``None``, list or nested object
    value is refused with ``ValueError``, and an int beyond 64 bits fails to bind to
    ``int_value`` (``OverflowError``, rolled back): JSON metadata other managers accept is
    refused."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-META-001", "MM-META-003")

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(_CHROMA_SCHEMA)
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}/{request.conversation_id}"

    def _live_id(self, request: IMemoryInput, now: float) -> int | None:
        row = self._db.execute(
            "SELECT id FROM embeddings WHERE conversation_id = ? AND memory_type = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (request.conversation_id, request.memory_type.value, now),
        ).fetchone()
        return None if row is None else int(row[0])

    def _forget(self, slot_id: int) -> None:
        self._db.execute("DELETE FROM documents WHERE embedding_id = ?", (slot_id,))
        self._db.execute("DELETE FROM embedding_metadata WHERE id = ?", (slot_id,))
        self._db.execute("DELETE FROM embeddings WHERE id = ?", (slot_id,))

    def _purge(self, now: float) -> None:
        expired = self._db.execute(
            "SELECT id FROM embeddings WHERE expires_at <= ? ORDER BY expires_at LIMIT 16",
            (now,),
        ).fetchall()
        for (slot_id,) in expired:
            self._forget(int(slot_id))

    def _write_documents(self, slot_id: int, texts: tuple[str, ...]) -> None:
        self._db.execute("DELETE FROM documents WHERE embedding_id = ?", (slot_id,))
        self._db.executemany(
            "INSERT INTO documents (embedding_id, seq, document) VALUES (?, ?, ?)",
            [(slot_id, seq, text) for seq, text in enumerate(texts)],
        )

    def _write_metadata(self, slot_id: int, rows: list[_MetadataRow]) -> None:
        self._db.execute("DELETE FROM embedding_metadata WHERE id = ?", (slot_id,))
        self._db.executemany(
            "INSERT INTO embedding_metadata "
            "(id, key, string_value, int_value, float_value, bool_value) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(slot_id, *row) for row in rows],
        )

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        rows = validate_chroma_metadata(copy_metadata(request.metadata) or {})
        with self._lock, self._db:
            now = self._clock()
            self._purge(now)
            (slot_id,) = self._db.execute(
                "INSERT INTO embeddings (conversation_id, memory_type, expires_at) "
                "VALUES (?, ?, ?) ON CONFLICT (conversation_id, memory_type) "
                "DO UPDATE SET expires_at = excluded.expires_at RETURNING id",
                (request.conversation_id, request.memory_type.value, _expires_at(self.ttl, now)),
            ).fetchone()
            self._write_documents(int(slot_id), texts)
            self._write_metadata(int(slot_id), rows)
        return self._key(request)

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            slot_id = self._live_id(request, self._clock())
            if slot_id is None:
                return []
            rows = self._db.execute(
                "SELECT document FROM documents WHERE embedding_id = ? ORDER BY seq", (slot_id,)
            ).fetchall()
        return _items(str(document) for (document,) in rows)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        rows = None if given is None else validate_chroma_metadata(given)
        with self._lock, self._db:
            now = self._clock()
            slot_id = self._live_id(request, now)
            if slot_id is None:
                return
            self._db.execute(
                "UPDATE embeddings SET expires_at = ? WHERE id = ?",
                (_expires_at(self.ttl, now), slot_id),
            )
            self._write_documents(slot_id, texts)
            if rows is not None:
                self._write_metadata(slot_id, rows)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock, self._db:
            row = self._db.execute(
                "SELECT id FROM embeddings WHERE conversation_id = ? AND memory_type = ?",
                (request.conversation_id, request.memory_type.value),
            ).fetchone()
            if row is not None:
                self._forget(int(row[0]))


# --------------------------------------------------------------------------- 6. failure atomicity

#: Lua's C stack limit in Redis's build (``LUAI_MAXCSTACK`` in luaconf.h).
_LUAI_MAXCSTACK = 8000


class _ResponseError(Exception):
    """redis-py's ``ResponseError``: the server answered a command with an error."""


_WRITE_SCRIPT = """
-- KEYS: items list, metadata, deadline. ARGV: mode, now, deadline, px, metadata, items...
if ARGV[1] == 'update' then
  local deadline = redis.call('GET', KEYS[3])
  if not deadline or (deadline ~= 'none' and tonumber(ARGV[2]) >= tonumber(deadline)) then
    return 0
  end
end
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], unpack(ARGV, 6))
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5]) end
redis.call('SET', KEYS[3], ARGV[3])
for _, key in ipairs(KEYS) do
  if ARGV[4] == '' then redis.call('PERSIST', key) else redis.call('PEXPIRE', key, ARGV[4]) end
end
return 1
"""


def _lua_unpack(argv: Sequence[str], start: int) -> list[str]:
    """Lua 5.1's ``unpack(t, i)``: every value goes on the calling C function's stack, which
    holds at most ``LUAI_MAXCSTACK`` slots, two of them taken by ``unpack``'s own arguments."""
    values = list(argv[start - 1 :])
    if not values or len(values) + 2 > _LUAI_MAXCSTACK:
        raise _ResponseError(
            "ERR Error running script (call to f_write): @user_script:10: "
            "user_script:10: too many results to unpack"
        )
    return values


def _write_script(call: Callable[..., Any], keys: Sequence[str], argv: Sequence[str]) -> int:
    """What ``_WRITE_SCRIPT`` does, command by command."""
    items_key, metadata_key, deadline_key = keys
    mode, now, deadline, px, metadata = argv[:5]
    if mode == "update":
        current = call("GET", deadline_key)
        if current is None or (current != "none" and float(now) >= float(current)):
            return 0
    call("DEL", items_key)
    call("RPUSH", items_key, *_lua_unpack(argv, 6))
    if metadata:
        call("SET", metadata_key, metadata)
    call("SET", deadline_key, deadline)
    for key in keys:
        if px:
            call("PEXPIRE", key, px)
        else:
            call("PERSIST", key)
    return 1


class _ScriptingRedis:
    """Redis strings and lists with expiry, ``EVALSHA`` and a ``MULTI``/``EXEC`` read, in
    process, on the injected clock. A script runs alone (Redis is single-threaded) and, as in
    Redis, is not rolled back when it fails part-way: what it did before the error stays."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._data: dict[str, Any] = {}
        self._deadlines: dict[str, float] = {}
        self._scripts: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def script_load(self, source: str, body: Callable[..., Any]) -> str:
        sha = hashlib.sha1(source.encode("utf-8")).hexdigest()
        self._scripts[sha] = body
        return sha

    def evalsha(self, sha: str, keys: Sequence[str], argv: Sequence[str]) -> Any:
        with self._lock:
            return self._scripts[sha](self._call, keys, argv)

    def read(self, deadline_key: str, items_key: str) -> tuple[str | None, list[str]]:
        """``MULTI; GET deadline; LRANGE items 0 -1; EXEC``."""
        with self._lock:
            return self._call("GET", deadline_key), self._call("LRANGE", items_key)

    def delete(self, *keys: str) -> int:
        with self._lock:
            return sum(self._call("DEL", key) for key in keys)

    def _exists(self, key: str) -> bool:
        deadline = self._deadlines.get(key)
        if deadline is not None and self._clock() >= deadline:
            del self._deadlines[key]
            self._data.pop(key, None)
        return key in self._data

    def _call(self, command: str, key: str, *args: str) -> Any:
        exists = self._exists(key)
        if command == "GET":
            return self._data[key] if exists else None
        if command == "LRANGE":
            return list(self._data[key]) if exists else []
        if command == "DEL":
            self._data.pop(key, None)
            self._deadlines.pop(key, None)
            return int(exists)
        if command == "RPUSH":
            values: list[str] = self._data[key] if exists else []
            values.extend(args)
            self._data[key] = values
            return len(values)
        if command == "SET":
            self._data[key] = args[0]
            self._deadlines.pop(key, None)
            return "OK"
        if command == "PEXPIRE":
            if exists:
                self._deadlines[key] = self._clock() + int(args[0]) / 1000
            return int(exists)
        if command == "PERSIST":
            return int(self._deadlines.pop(key, None) is not None)
        raise _ResponseError(f"ERR unknown command '{command}'")


class LuaUnpackScriptManager:
    """LangChain's ``RedisChatMessageHistory`` layout (a Redis list per slot, one element per
    item) with the metadata and the exact deadline in two keys beside it, every write made
    atomic by one Lua script (``DEL``, ``RPUSH key unpack(ARGV, 6)``, ``SET``, ``PEXPIRE``);
    redis errors become ``MemoryBackendError``. Bug: Lua's ``unpack`` cannot return more than
    about 8,000 values (``LUAI_MAXCSTACK``; see Cm_Cache_Backend_Redis#67, alisaifee/limits#169,
    rueidis#595), so a write of 7,999 items or more fails inside the script, after its ``DEL``
    ran; Redis does not roll scripts back, so the slot is left emptied (its items gone, its
    deadline and metadata kept), although 7,999 items is below the smallest size bound the
    catalogue allows."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-ERR-002",
        "MM-LIMIT-005",
        "MM-STORE-002",
        "MM-UPD-002",
    )

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._redis = _ScriptingRedis(self._clock)
        self._write_sha = self._redis.script_load(_WRITE_SCRIPT, _write_script)
        # Redis counts expiry in whole milliseconds: its own expiry is a backstop a second
        # after the exact deadline kept in the deadline key.
        self._px = "" if self.ttl is None else str(math.ceil(self.ttl * 1000) + 1000)

    @staticmethod
    def _keys(request: IMemoryInput) -> tuple[str, str, str]:
        tag = f"wm:{{{request.memory_type.value}:{request.conversation_id}}}"
        return f"{tag}:items", f"{tag}:meta", f"{tag}:deadline"

    def _write(self, mode: str, request: IMemoryInput, texts: tuple[str, ...], meta: str) -> None:
        now = self._clock()
        deadline = "none" if self.ttl is None else repr(now + self.ttl)
        argv = [mode, repr(now), deadline, self._px, meta, *texts]
        try:
            self._redis.evalsha(self._write_sha, self._keys(request), argv)
        except _ResponseError as exc:
            raise MemoryBackendError(f"{mode} of a working-memory slot failed: {exc}") from exc

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = json.dumps(copy_metadata(request.metadata) or {})
        self._write("store", request, texts, metadata)
        return self._keys(request)[0].removesuffix(":items")

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        items_key, _, deadline_key = self._keys(request)
        try:
            deadline, texts = self._redis.read(deadline_key, items_key)
        except _ResponseError as exc:
            raise MemoryBackendError(f"retrieve of a working-memory slot failed: {exc}") from exc
        if deadline is None or (deadline != "none" and self._clock() >= float(deadline)):
            return []
        return _items(texts)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        self._write("update", request, texts, "" if given is None else json.dumps(given))

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        try:
            self._redis.delete(*self._keys(request))
        except _ResponseError as exc:
            raise MemoryBackendError(f"delete of a working-memory slot failed: {exc}") from exc


# --------------------------------------------------------------------------- 7. isolation


class _DeleteField:
    """Firestore's ``DELETE_FIELD`` sentinel."""

    def __repr__(self) -> str:
        return "DELETE_FIELD"


DELETE_FIELD = _DeleteField()


def _deep_merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


class _Firestore:
    """A Firestore database in process, as far as used here. ``set`` replaces a document, or,
    with ``merge=True``, merges into it (nested maps field by field); ``update`` changes dotted
    field paths of an existing document (``DELETE_FIELD`` removes one); a transaction runs
    alone; reads return copies."""

    def __init__(self) -> None:
        self._documents: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[_Firestore]:
        with self._lock:
            yield self

    def get(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            document = self._documents.get(path)
            return None if document is None else copy.deepcopy(document)

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None:
        with self._lock:
            fields = copy.deepcopy(dict(data))
            current = self._documents.get(path)
            if merge and current is not None:
                _deep_merge(current, fields)
            else:
                self._documents[path] = fields

    def update(self, path: str, changes: Mapping[str, Any]) -> None:
        with self._lock:
            document = self._documents.get(path)
            if document is None:
                raise KeyError(f"404 No document to update: {path}")
            for field_path, value in changes.items():
                *parents, leaf = field_path.split(".")
                node = document
                for name in parents:
                    node = node.setdefault(name, {})
                if value is DELETE_FIELD:
                    node.pop(leaf, None)
                else:
                    node[leaf] = copy.deepcopy(value)


class FirestoreSetWithoutMergeManager:
    """One Firestore document per conversation, ``conversations/{sha256(id)}`` holding
    ``{conversation_id, slots: {memory_type: {items, metadata, expires_at}}}``, the session
    document of LangChain's Firestore chat history grown to several memory types; ``store``
    writes with ``set(..., merge=True)``, ``delete`` removes its field with ``DELETE_FIELD``, and
    ``update`` reads and writes in a transaction. Bug: ``update`` writes with ``set()`` without
    ``merge=True``, which replaces the whole document: updating one memory type of a
    conversation deletes its other memory types."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-ISO-002",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._db = _Firestore()

    @staticmethod
    def _path(request: IMemoryInput) -> str:
        digest = hashlib.sha256(request.conversation_id.encode("utf-8")).hexdigest()
        return f"conversations/{digest}"

    @staticmethod
    def _slot(document: dict[str, Any] | None, request: IMemoryInput) -> dict[str, Any] | None:
        if document is None or document.get("conversation_id") != request.conversation_id:
            return None
        slot: dict[str, Any] | None = document.get("slots", {}).get(request.memory_type.value)
        return slot

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = json.dumps(copy_metadata(request.metadata) or {})
        path = self._path(request)
        with self._db.transaction() as txn:
            slot = {
                "items": list(texts),
                "metadata": metadata,
                "expires_at": _expires_at(self.ttl, self._clock()),
            }
            document = {
                "conversation_id": request.conversation_id,
                "slots": {request.memory_type.value: slot},
            }
            txn.set(path, document, merge=True)
        return f"{path}#{request.memory_type.value}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        slot = self._slot(self._db.get(self._path(request)), request)
        if slot is None or not _is_live(slot["expires_at"], self._clock()):
            return []
        return _items(slot["items"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        path = self._path(request)
        with self._db.transaction() as txn:
            now = self._clock()
            current = self._slot(txn.get(path), request)
            if current is None or not _is_live(current["expires_at"], now):
                return
            slot = {
                "items": list(texts),
                "metadata": current["metadata"] if given is None else json.dumps(given),
                "expires_at": _expires_at(self.ttl, now),
            }
            document = {
                "conversation_id": request.conversation_id,
                "slots": {request.memory_type.value: slot},
            }
            txn.set(path, document)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        path = self._path(request)
        with self._db.transaction() as txn:
            if self._slot(txn.get(path), request) is None:
                return
            txn.update(path, {f"slots.{request.memory_type.value}": DELETE_FIELD})


# --------------------------------------------------------------------------- 8. concurrency


class _KeyedLocks:
    """One lock per key, made on first use and dropped from the registry on release so that the
    registry does not keep a lock for every conversation ever seen: the keyed-lock recipe (as in
    eblade/flow's ``flow/lock.py``, which deletes the key's entry when it unlocks)."""

    def __init__(self) -> None:
        self._registry = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._registry:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield
        with self._registry:
            self._locks.pop(key, None)


class _ChatHistory:
    """LangChain's ``InMemoryChatMessageHistory``, trimmed to text, with the slot's metadata and
    deadline beside its messages."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.metadata: dict[str, Any] = {}
        self.expires_at = math.inf

    def add_messages(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.messages.append(text)

    def clear(self) -> None:
        self.messages = []


class KeyedLockHistoryManager:
    """LangChain's ``get_session_history`` pattern: a dict of per-slot chat histories, a write
    being ``clear()`` then ``add_messages()``, every operation (reads included) holding the
    slot's own lock from a keyed-lock registry, so that different conversations never wait for
    each other. Bug: the registry drops a key's lock when its holder releases it, although
    other threads may already hold a reference and be waiting on it; the next caller then makes
    a fresh lock, and two operations on one slot run at once, interleaving their clears and
    appends (the slot ends up with, and readers see, items of two writes mixed)."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-CONC-002",)
    RACE: ClassVar[bool] = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._histories: dict[str, _ChatHistory] = {}
        self._locks = _KeyedLocks()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"{request.memory_type.value}:{request.conversation_id}"

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._locks.hold(key):
            now = self._clock()
            history = self._histories.get(key)
            if history is None:
                history = self._histories[key] = _ChatHistory()
            history.clear()
            history.add_messages(texts)
            history.metadata = metadata
            history.expires_at = now + self._lifetime
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        key = self._key(request)
        with self._locks.hold(key):
            history = self._histories.get(key)
            if history is None or self._clock() >= history.expires_at:
                return []
            texts = list(history.messages)
        return _items(texts)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        with self._locks.hold(key):
            history = self._histories.get(key)
            if history is None:
                return
            now = self._clock()
            if now >= history.expires_at:
                self._histories.pop(key, None)
                return
            history.clear()
            history.add_messages(texts)
            if given is not None:
                history.metadata = given
            history.expires_at = now + self._lifetime

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = self._key(request)
        with self._locks.hold(key):
            self._histories.pop(key, None)


# --------------------------------------------------------------------------- 9. store semantics


class _LocMemCache:
    """``django.core.cache.backends.locmem.LocMemCache``, the parts used here, with the injected
    clock in place of ``time.time``: pickled values, an expiry per key (``None`` = never), and
    ``add`` that writes only when the key is missing or expired."""

    def __init__(self, clock: Clock, *, max_entries: int = 300, cull_frequency: int = 3) -> None:
        self._clock = clock
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._expire_info: dict[str, float | None] = {}
        self._max_entries = max_entries
        self._cull_frequency = cull_frequency
        self._lock = threading.Lock()
        self.key_prefix = ""
        self.version = 1

    def make_key(self, key: str) -> str:
        return f"{self.key_prefix}:{self.version}:{key}"

    def get_backend_timeout(self, timeout: float | None) -> float | None:
        if timeout is None:
            return None
        if timeout == 0:
            timeout = -1
        return self._clock() + timeout

    def add(self, key: str, value: Any, timeout: float | None) -> bool:
        pickled = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if self._has_expired(key):
                self._set(key, pickled, timeout)
                return True
            return False

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                return default
            pickled = self._cache[key]
            self._cache.move_to_end(key, last=False)
        return pickle.loads(pickled)

    def set(self, key: str, value: Any, timeout: float | None) -> None:
        pickled = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._set(key, pickled, timeout)

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._delete(key)

    def _set(self, key: str, pickled: bytes, timeout: float | None) -> None:
        if len(self._cache) >= self._max_entries:
            self._cull()
        self._cache[key] = pickled
        self._cache.move_to_end(key, last=False)
        self._expire_info[key] = self.get_backend_timeout(timeout)

    def _cull(self) -> None:
        if self._cull_frequency == 0:
            self._cache.clear()
            self._expire_info.clear()
            return
        for _ in range(len(self._cache) // self._cull_frequency):
            key, _ = self._cache.popitem()
            del self._expire_info[key]

    def _has_expired(self, key: str) -> bool:
        expires = self._expire_info.get(key, -1)
        return expires is not None and expires <= self._clock()

    def _delete(self, key: str) -> bool:
        try:
            del self._cache[key]
            del self._expire_info[key]
        except KeyError:
            return False
        return True


class DjangoCacheAddManager:
    """Memory kept through Django's cache API on ``LocMemCache`` (configured with
    ``MAX_ENTRIES=sys.maxsize``, so nothing is culled; ``TIMEOUT`` is the TTL, ``None`` for
    none), one lock around each operation: ``update`` is ``get`` then ``set``, ``delete`` is
    ``delete``. Bug: ``store`` uses ``cache.add()`` ("add a memory", and the first worker to
    start a conversation wins), which writes only when the key is missing or expired, so storing
    over a live slot silently keeps the old items and the old deadline."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-RETR-001",
        "MM-STORE-002",
        "MM-STORE-003",
        "MM-TTL-004",
    )

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._cache = _LocMemCache(self._clock, max_entries=sys.maxsize)
        self._lock = threading.Lock()

    def _key(self, request: IMemoryInput) -> str:
        return self._cache.make_key(f"memory:{request.memory_type.value}:{request.conversation_id}")

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._lock:
            self._cache.add(key, (texts, metadata), timeout=self.ttl)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            value = self._cache.get(self._key(request))
        return [] if value is None else _items(value[0])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        with self._lock:
            current = self._cache.get(key)
            if current is None:
                return
            metadata = current[1] if given is None else given
            self._cache.set(key, (texts, metadata), timeout=self.ttl)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._cache.delete(self._key(request))


# --------------------------------------------------------------------------- 10. async


class _AsyncRedis:
    """The Redis commands used below, in process, each a round trip of one to three event-loop
    turns each way (seeded network jitter); a command takes effect when it reaches the server.
    Deadlines are absolute and exact, on the injected clock (``PXAT``)."""

    def __init__(self, clock: Clock, seed: int = 0) -> None:
        self._clock = clock
        self._keys: dict[str, tuple[str, float]] = {}
        self._latency = random.Random(seed)

    async def _travel(self) -> None:
        for _ in range(self._latency.randint(1, 3)):
            await asyncio.sleep(0)

    def _lookup(self, key: str) -> str | None:
        entry = self._keys.get(key)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            del self._keys[key]
            return None
        return entry[0]

    async def get(self, key: str) -> str | None:
        await self._travel()
        value = self._lookup(key)
        await self._travel()
        return value

    async def set(self, key: str, value: str, deadline: float) -> None:
        await self._travel()
        self._keys[key] = (value, deadline)
        await self._travel()

    async def update_items(
        self, key: str, items: list[str], metadata: dict[str, Any] | None, deadline: float
    ) -> bool:
        """The one-key Lua script an update runs: if the key is live, replace the items (and
        the metadata, when given) of its record and move its deadline."""
        await self._travel()
        current = self._lookup(key)
        if current is not None:
            record = json.loads(current)
            record["items"] = items
            if metadata is not None:
                record["metadata"] = metadata
            self._keys[key] = (json.dumps(record), deadline)
        await self._travel()
        return current is not None

    async def delete(self, key: str) -> None:
        await self._travel()
        self._keys.pop(key, None)
        await self._travel()


class AsyncSingleFlightManager:
    """An async Redis manager (one JSON record per slot; ``SET ... PXAT``, an update script that
    never creates, ``GET``, ``DEL``) whose ``retrieve`` coalesces concurrent reads of one slot
    into a single ``GET``, the singleflight pattern (``golang.org/x/sync/singleflight`` as used
    by groupcache, ported to asyncio): the first task leads the read, later ones await a shielded
    future of its result. Bug: writes never ``Forget`` the slot's flight, so a task that stores
    (or updates, or deletes) and then reads can join a ``GET`` that another task sent before the
    write reached Redis, and read the slot as it was before its own write."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-ASYNC-002",)
    RACE: ClassVar[bool] = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._redis = _AsyncRedis(self._clock)
        self._flights: dict[str, asyncio.Future[str | None]] = {}

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    async def _lead(self, key: str) -> str | None:
        flight: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            raw = await self._redis.get(key)
        except BaseException as exc:
            error = exc if isinstance(exc, Exception) else MemoryBackendError("read cancelled")
            flight.set_exception(error)
            flight.exception()  # the followers re-raise it; nobody else has to retrieve it
            raise
        else:
            flight.set_result(raw)
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
        return raw

    async def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        value = json.dumps({"items": list(texts), "metadata": metadata})
        await self._redis.set(key, value, self._clock() + self._lifetime)
        return key

    async def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        key = self._key(request)
        flight = self._flights.get(key)
        raw = await (self._lead(key) if flight is None else asyncio.shield(flight))
        return [] if raw is None else _items(json.loads(raw)["items"])

    async def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        await self._redis.update_items(key, list(texts), given, self._clock() + self._lifetime)

    async def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        await self._redis.delete(self._key(request))


HELDOUT3 = (
    SanitizedFilenameManager,
    ZeroPaddedSortKeyManager,
    MemcachedLongTtlManager,
    JsonableEncoderInputManager,
    ChromaMetadataManager,
    LuaUnpackScriptManager,
    FirestoreSetWithoutMergeManager,
    KeyedLockHistoryManager,
    DjangoCacheAddManager,
    AsyncSingleFlightManager,
)
