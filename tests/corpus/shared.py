"""Managers over a backend that several manager objects share, for the cross-instance checks.

Each class gives ``memspec_reopen``: a second manager object over the same backend, as a
second worker process would open one. The correct ones serialise on the backend itself (an
atomic server-side script, a database transaction); the broken ones serialise only inside one
manager object, which is enough while a single object is used and not once two are.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from memspec import IMemoryInput, IWorkingMemory, as_memory_input
from memspec.errors import MemoryBackendError
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

from corpus.designs import (
    RedisJSONManager,
    items_of,
    metadata_of,
    plain,
    texts_of,
)

T = TypeVar("T")

__all__ = [
    "SHARED_BROKEN",
    "SHARED_CORRECT",
    "GetThenSetPerInstanceLockManager",
    "ReadCacheManager",
    "SharedRedisJSONManager",
    "SqliteFileManager",
    "SqliteSelectThenUpdateManager",
]


class SharedRedisJSONManager(RedisJSONManager):
    """The usual Redis layout (one JSON string per slot, ``update`` one atomic script), with
    ``memspec_reopen`` giving another client of the same server."""

    @staticmethod
    def memspec_reopen(manager: SharedRedisJSONManager) -> SharedRedisJSONManager:
        second = copy.copy(manager)  # the same server and settings, another client object
        second._init_client()
        return second

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._init_client()

    def _init_client(self) -> None:
        """Set up what belongs to one client object rather than to the server."""


class GetThenSetPerInstanceLockManager(SharedRedisJSONManager):
    """``update`` reads the record with ``GET`` and writes it back with ``SET`` under a
    ``threading.Lock`` of the manager object ("our updates are serialised"): true for one
    object, but a ``delete`` or ``store`` through another manager between the two commands is
    undone."""

    BREAKS = ("MM-DUR-003",)
    RACE = True

    def _init_client(self) -> None:
        self._lock = threading.Lock()

    def store(self, input: Any) -> str:
        with self._lock:
            return super().store(input)

    def delete(self, input: Any) -> None:
        with self._lock:
            super().delete(input)

    def update(self, input: Any) -> None:
        request = self._request(input)
        texts = texts_of(request, "update")
        key = self._key(request, input)
        with self._lock:
            old = self._redis.get(key)
            if old is None:
                return
            kept = json.loads(old)["metadata"] if request.metadata is None else request.metadata
            self._redis.set(key, self._encode(texts, kept), ex=self.ttl)


class ReadCacheManager(SharedRedisJSONManager):
    """A client-side cache in front of the server ("memory is read far more often than it is
    written"): each manager object remembers what it wrote and read, so a delete or write made
    through another manager stays invisible to it."""

    BREAKS = ("MM-DUR-001",)

    def _init_client(self) -> None:
        self._cache: dict[str, tuple[list[str], float]] = {}
        self._lock = threading.Lock()

    def store(self, input: Any) -> str:
        request = self._request(input)
        key = super().store(request)
        lifetime = math.inf if self.ttl is None else self.ttl
        with self._lock:
            self._cache[key] = (list(texts_of(request, "store")), self._clock() + lifetime)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = self._request(input)
        key = self._key(request, input)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self._clock() < cached[1]:
            return items_of(cached[0])
        return super().retrieve(request)

    def update(self, input: Any) -> None:
        request = self._request(input)
        super().update(request)
        with self._lock:
            self._cache.pop(self._key(request, input), None)

    def delete(self, input: Any) -> None:
        request = self._request(input)
        super().delete(request)
        with self._lock:
            self._cache.pop(self._key(request, input), None)


class SqliteFileManager:
    """One row per slot in a SQLite file, opened by every worker process: each operation one
    statement (``INSERT OR REPLACE``, ``UPDATE … WHERE`` live, ``DELETE``, ``SELECT``) in
    autocommit mode, so the database serialises them across connections and processes."""

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        if path is None:
            path = Path(tempfile.mkdtemp(prefix="memspec-shared-")) / "memory.db"
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS slots (key TEXT PRIMARY KEY, items TEXT NOT NULL,"
            " metadata TEXT NOT NULL, expires_at REAL)"
        )
        self._lock = threading.Lock()

    @staticmethod
    def memspec_reopen(manager: SqliteFileManager) -> SqliteFileManager:
        return type(manager)(manager.ttl, manager._clock, path=manager.path)

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return json.dumps([request.memory_type.value, request.conversation_id])

    def _deadline(self) -> float | None:
        return None if self.ttl is None else self._clock() + self.ttl

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "store")))
        metadata = json.dumps(plain(metadata_of(request)))
        key = self._key(request)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO slots VALUES (?, ?, ?, ?)",
                (key, items, metadata, self._deadline()),
            )
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            row = self._db.execute(
                "SELECT items FROM slots WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
                (self._key(request), self._clock()),
            ).fetchone()
        return [] if row is None else items_of(json.loads(row[0]))

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "update")))
        metadata = None if request.metadata is None else json.dumps(plain(metadata_of(request)))
        with self._lock:
            now = self._clock()
            self._db.execute(
                "UPDATE slots SET items = ?, metadata = COALESCE(?, metadata), expires_at = ?"
                " WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
                (items, metadata, self._deadline(), self._key(request), now),
            )

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._db.execute("DELETE FROM slots WHERE key = ?", (self._key(request),))


class SqliteSelectThenUpdateManager(SqliteFileManager):
    """``update`` reads the row, checks it is live in Python, then writes it in a second
    autocommit statement: the connection's lock serialises this object's calls only, so a
    delete from another worker between the two statements is undone."""

    BREAKS = ("MM-DUR-003",)
    RACE = True

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        items = json.dumps(list(texts_of(request, "update")))
        with self._lock:
            row = self._db.execute(
                "SELECT metadata, expires_at FROM slots WHERE key = ?", (self._key(request),)
            ).fetchone()
            now = self._clock()
            if row is None or (row[1] is not None and now >= row[1]):
                return
            metadata = (
                row[0] if request.metadata is None else json.dumps(plain(metadata_of(request)))
            )
            self._db.execute(
                "INSERT OR REPLACE INTO slots VALUES (?, ?, ?, ?)",
                (self._key(request), items, metadata, self._deadline()),
            )


class _Link:
    """The network between the clients and the stand-in server, which an outage cuts: every
    command then fails the way redis-py's do when the server refuses connections."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.up = True

    def __getattr__(self, name: str) -> Any:
        command = getattr(self.server, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.up:
                raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            return command(*args, **kwargs)

        return call


@contextlib.contextmanager
def _cut(manager: Any) -> Iterator[None]:
    link = manager._redis
    link.up = False
    try:
        yield
    finally:
        link.up = True


class OutageAwareManager(SharedRedisJSONManager):
    """Every client error becomes ``MemoryBackendError`` chained to it; the next call after
    the server is back simply reconnects."""

    memspec_outage = staticmethod(_cut)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._redis = _Link(self._redis)  # type: ignore[assignment]

    def _guard(self, operation: Callable[[Any], T], input: Any) -> T:
        try:
            return operation(input)
        except ConnectionError as exc:
            raise MemoryBackendError(f"the memory backend is unreachable: {exc}") from exc

    def store(self, input: Any) -> str:
        return self._guard(super().store, input)

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        return self._guard(super().retrieve, input)

    def update(self, input: Any) -> None:
        self._guard(super().update, input)

    def delete(self, input: Any) -> None:
        self._guard(super().delete, input)


class SwallowsOutageManager(OutageAwareManager):
    """ "Memory is best effort": a connection error is logged and the call goes on as if the
    slot were empty (``retrieve`` returns ``[]``, writes do nothing)."""

    BREAKS = ("MM-DUR-002",)

    def _guard(self, operation: Callable[[Any], T], input: Any) -> T:
        try:
            return operation(input)
        except ConnectionError:
            return [] if operation.__name__ == "retrieve" else None  # type: ignore[return-value]


class NoReconnectManager(OutageAwareManager):
    """The client keeps its first connection: once it has seen it fail, every later call
    raises ``MemoryBackendError`` ("connection closed") until the manager is rebuilt."""

    BREAKS = ("MM-DUR-004",)

    def _init_client(self) -> None:
        self._broken: BaseException | None = None

    def _guard(self, operation: Callable[[Any], T], input: Any) -> T:
        if self._broken is not None:
            raise MemoryBackendError("the connection to the memory backend is closed") from (
                self._broken
            )
        try:
            return operation(input)
        except ConnectionError as exc:
            self._broken = exc
            raise MemoryBackendError(f"the memory backend is unreachable: {exc}") from exc


SHARED_CORRECT = (SharedRedisJSONManager, SqliteFileManager, OutageAwareManager)
SHARED_BROKEN = (
    GetThenSetPerInstanceLockManager,
    ReadCacheManager,
    SqliteSelectThenUpdateManager,
    SwallowsOutageManager,
    NoReconnectManager,
)
