"""An embedded, persistent memory manager on the standard library's ``sqlite3``.

Memory survives a restart with nothing to install. Each slot is one row holding its
:class:`~memspec.StoredRecord` as JSON and its expiry time; every operation is a single
transaction, so it is atomic for threads in this process (one connection under a lock) and
for other processes on the same file (SQLite's own locking, in WAL mode). Expiry is enforced
on read by comparing with the stored expiry time, and expired rows are purged in small
batches through an index on the expiry time, never by scanning the table.

The default clock is wall-clock time (``time.time``): expiry times are stored in the file and
must mean the same thing after a restart, which a monotonic clock does not.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from memspec.errors import MemoryBackendError
from memspec.models import (
    IMemoryInput,
    IWorkingMemory,
    StoredRecord,
    as_memory_input,
    copy_metadata,
    dump_record,
    require_data,
)
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

__all__ = [
    "SCHEMA_VERSION",
    "AsyncSQLiteMemoryManager",
    "SQLiteMemoryManager",
    "temporary_async_sqlite_manager",
    "temporary_sqlite_manager",
]

#: Version of the tables this module creates; a file with a newer one is refused.
SCHEMA_VERSION = 1

#: One store in _PURGE_EVERY also deletes up to _PURGE_BATCH expired rows, in a transaction of
#: its own: the backlog shrinks faster than writes add to it, and the other stores are a single
#: upsert.
_PURGE_EVERY = 64
_PURGE_BATCH = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memspec_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memspec_slot (
    conversation_id TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    record TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (conversation_id, memory_type)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memspec_slot_expiry
    ON memspec_slot (expires_at) WHERE expires_at IS NOT NULL;
"""

T = TypeVar("T")


class SQLiteMemoryManager:
    """Conversation memory in a SQLite file that survives restarts.

    ``path`` is the database file (created with its tables if missing; its directory must
    exist). ``ttl`` and ``clock`` as in the contract; the clock defaults to ``time.time``.
    ``busy_timeout`` is how long to wait for another process's write lock, in seconds.
    ``synchronous="FULL"`` also survives power loss, at the cost of an fsync per write;
    the default ``"NORMAL"`` survives any crash of the process.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        busy_timeout: float = 5.0,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    ) -> None:
        self.ttl: float | None = validate_ttl(ttl)
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self.path = Path(path)
        self._absolute = os.path.abspath(self.path)  # stays right if the process changes dir
        # Wall-clock time by default (see the module docstring), not validate_clock's monotonic.
        self.clock: Clock = time.time if clock is None else validate_clock(clock)
        self._lock = threading.Lock()
        self._owned_directory: Path | None = None
        self._stores = itertools.count()
        with self._backend("open"):
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                self._prepare(synchronous)
                self._identity = self._file_identity()
            except BaseException:
                self._db.close()
                raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, ttl={self.ttl!r})"

    # -- set-up ---------------------------------------------------------------------------

    def _prepare(self, synchronous: str) -> None:
        db = self._db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            row = db.execute(
                "SELECT value FROM memspec_meta WHERE key = 'schema_version'"
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO memspec_meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif row[0] != str(SCHEMA_VERSION):
                raise MemoryBackendError(
                    f"{self.path} holds memspec tables of schema version {row[0]}; this "
                    f"memspec reads version {SCHEMA_VERSION}. Open it with the memspec release "
                    "that wrote it; nothing is migrated automatically."
                )

    @contextmanager
    def _backend(self, what: str) -> Iterator[None]:
        """Turn sqlite3 errors into MemoryBackendError naming the file and the operation."""
        try:
            yield
        except sqlite3.Error as exc:
            raise MemoryBackendError(f"{what} on {self.path} failed: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: BEGIN IMMEDIATE takes the file's write lock up front."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _run(self, what: str, work: Callable[[], T]) -> T:
        # What _backend does, written out: this is every operation's path.
        with self._lock:
            try:
                if self._file_identity() != self._identity:
                    # Chained to the condition itself, as every backend failure is.
                    cause = FileNotFoundError(
                        errno.ENOENT, "not the database file this manager opened", str(self.path)
                    )
                    raise MemoryBackendError(
                        f"{what} on {self.path} failed: the database file was moved, removed "
                        "or replaced since this manager opened it; nothing was read or written"
                    ) from cause
                return work()
            except sqlite3.Error as exc:
                raise MemoryBackendError(f"{what} on {self.path} failed: {exc}") from exc

    def _file_identity(self) -> tuple[int, int] | None:
        """The file's (device, inode), or ``None`` when there is no file at the path.

        Checked before every operation (one ``stat``): an open connection keeps using a file
        that was moved or deleted, so without the check writes would be acknowledged and
        lost. When the file is back, the same manager works again.
        """
        try:
            found = os.stat(self._absolute)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    # -- the four operations -------------------------------------------------------------

    def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """Make the slot's content exactly ``input.data``, restart its lifetime, return its key."""
        request = as_memory_input(input)
        items = require_data(request, "store")
        row = self._row(request, items, copy_metadata(request.metadata) or {})

        def work() -> None:
            # One statement in autocommit mode is one durable transaction of its own.
            now = self.clock()
            if next(self._stores) % _PURGE_EVERY == 0:
                self._purge(now, _PURGE_BATCH)
            self._db.execute(
                "INSERT INTO memspec_slot (conversation_id, memory_type, record, expires_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id, memory_type) DO UPDATE "
                "SET record = excluded.record, expires_at = excluded.expires_at",
                (*row, self._expiry(now)),
            )

        self._run("store", work)
        return self.key(request)

    def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """Return the slot's items in order, or ``[]`` when it is missing or expired."""
        request = as_memory_input(input)
        record = self._run("retrieve", lambda: self._live(request))
        return [] if record is None else list(record.data)

    def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """Replace a live slot's items (and metadata, when given); never create one."""
        request = as_memory_input(input)
        items = require_data(request, "update")
        given = copy_metadata(request.metadata)

        def work() -> None:
            now = self.clock()
            with self._transaction():
                current = self._live(request, now)
                if current is None:
                    return
                metadata = current.metadata if given is None else given
                conversation_id, memory_type, record = self._row(request, items, metadata)
                self._db.execute(
                    "UPDATE memspec_slot SET record = ?, expires_at = ? "
                    "WHERE conversation_id = ? AND memory_type = ?",
                    (record, self._expiry(now), conversation_id, memory_type),
                )

        self._run("update", work)

    def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """Remove the slot; other memory types stay. Missing is fine."""
        request = as_memory_input(input)
        self._run(
            "delete",
            lambda: self._db.execute(
                "DELETE FROM memspec_slot WHERE conversation_id = ? AND memory_type = ?",
                (request.conversation_id, request.memory_type.value),
            ),
        )

    # -- housekeeping ---------------------------------------------------------------------

    @staticmethod
    def key(request: IMemoryInput) -> str:
        """The key ``store`` returns: table, memory type and conversation ID."""
        return f"memspec_slot/{request.memory_type.value}/{request.conversation_id}"

    def clear_expired(self) -> int:
        """Delete every expired row now; return how many were removed."""

        def work() -> int:
            with self._transaction():
                return self._purge(self.clock(), None)

        return self._run("clear_expired", work)

    def __len__(self) -> int:
        """The number of live slots."""
        now = self.clock()
        row = self._run(
            "count",
            lambda: self._db.execute(
                "SELECT count(*) FROM memspec_slot WHERE expires_at IS NULL OR expires_at > ?",
                (now,),
            ).fetchone(),
        )
        return int(row[0])

    def close(self) -> None:
        """Close the connection (and remove the file if this manager made it temporary)."""
        with self._lock:
            self._db.close()
        if self._owned_directory is not None:
            shutil.rmtree(self._owned_directory, ignore_errors=True)

    def __enter__(self) -> SQLiteMemoryManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals (called with the lock held) -------------------------------------------

    def _expiry(self, now: float) -> float | None:
        return None if self.ttl is None else now + self.ttl

    @staticmethod
    def _row(
        request: IMemoryInput, items: list[IWorkingMemory], metadata: dict[str, Any]
    ) -> tuple[str, str, str]:
        record = dump_record(request, items, metadata)
        return request.conversation_id, request.memory_type._value_, record

    def _live(self, request: IMemoryInput, now: float | None = None) -> StoredRecord | None:
        when = self.clock() if now is None else now
        row = self._db.execute(
            "SELECT record FROM memspec_slot WHERE conversation_id = ? AND memory_type = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (request.conversation_id, request.memory_type.value, when),
        ).fetchone()
        if row is None:
            return None
        try:
            return StoredRecord.model_validate_json(row[0])
        except ValueError as exc:
            raise MemoryBackendError(
                f"the row for {self.key(request)!r} in {self.path} is not a valid memspec "
                f"record: {exc}"
            ) from exc

    def _purge(self, now: float, limit: int | None) -> int:
        cursor = self._db.execute(
            "DELETE FROM memspec_slot WHERE (conversation_id, memory_type) IN ("
            "SELECT conversation_id, memory_type FROM memspec_slot "
            "WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?)",
            (now, -1 if limit is None else limit),
        )
        return cursor.rowcount


class AsyncSQLiteMemoryManager:
    """The async twin of :class:`SQLiteMemoryManager`: each operation runs in a worker thread.

    Every operation is still one transaction under the manager's lock, so it is atomic with
    respect to other tasks and threads; the event loop never waits on the disk.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        self.sync = SQLiteMemoryManager(path, ttl=ttl, clock=clock, **options)

    def __repr__(self) -> str:
        return f"Async{self.sync!r}"

    async def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """See :meth:`SQLiteMemoryManager.store`."""
        return await asyncio.to_thread(self.sync.store, input)

    async def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """See :meth:`SQLiteMemoryManager.retrieve`."""
        return await asyncio.to_thread(self.sync.retrieve, input)

    async def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`SQLiteMemoryManager.update`."""
        await asyncio.to_thread(self.sync.update, input)

    async def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`SQLiteMemoryManager.delete`."""
        await asyncio.to_thread(self.sync.delete, input)

    async def clear_expired(self) -> int:
        """See :meth:`SQLiteMemoryManager.clear_expired`."""
        return await asyncio.to_thread(self.sync.clear_expired)

    async def aclose(self) -> None:
        """Close the underlying manager."""
        await asyncio.to_thread(self.sync.close)


def _temporary(ttl: float | None, clock: Clock | None) -> SQLiteMemoryManager:
    directory = Path(tempfile.mkdtemp(prefix="memspec-sqlite-"))
    manager = SQLiteMemoryManager(directory / "memory.db", ttl=ttl, clock=clock)
    manager._owned_directory = directory
    return manager


def temporary_sqlite_manager(
    ttl: float | None = DEFAULT_TTL, clock: Clock | None = None
) -> SQLiteMemoryManager:
    """A manager on a fresh file in a new temporary directory, removed by ``close()``.

    Made for certification (``memspec certify
    memspec.reference.sqlite:temporary_sqlite_manager``): each call is isolated, and its
    ``memspec_reopen`` opens a second manager on the same file for the persistence profile.
    """
    return _temporary(ttl, clock)


def _reopen(manager: SQLiteMemoryManager) -> SQLiteMemoryManager:
    return SQLiteMemoryManager(manager.path, ttl=manager.ttl, clock=manager.clock)


def temporary_async_sqlite_manager(
    ttl: float | None = DEFAULT_TTL, clock: Clock | None = None
) -> AsyncSQLiteMemoryManager:
    """The async twin of :func:`temporary_sqlite_manager`."""
    manager = AsyncSQLiteMemoryManager.__new__(AsyncSQLiteMemoryManager)
    manager.sync = _temporary(ttl, clock)
    return manager


def _reopen_async(manager: AsyncSQLiteMemoryManager) -> AsyncSQLiteMemoryManager:
    second = AsyncSQLiteMemoryManager.__new__(AsyncSQLiteMemoryManager)
    second.sync = _reopen(manager.sync)
    return second


@contextmanager
def _outage(manager: SQLiteMemoryManager | AsyncSQLiteMemoryManager) -> Iterator[None]:
    """While inside, the database file is moved aside, so that every operation of ``manager``
    raises :class:`MemoryBackendError`; on exit it is put back and the manager works again."""
    sync = manager.sync if isinstance(manager, AsyncSQLiteMemoryManager) else manager
    aside = sync.path.with_name(f"{sync.path.name}.memspec-outage")
    os.rename(sync.path, aside)
    try:
        yield
    finally:
        os.rename(aside, sync.path)


temporary_sqlite_manager.memspec_reopen = _reopen  # type: ignore[attr-defined]
temporary_sqlite_manager.memspec_outage = _outage  # type: ignore[attr-defined]
temporary_async_sqlite_manager.memspec_reopen = _reopen_async  # type: ignore[attr-defined]
temporary_async_sqlite_manager.memspec_outage = _outage  # type: ignore[attr-defined]
