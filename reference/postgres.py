"""Memory managers on PostgreSQL, sync and async (install with the ``postgres`` extra).

Each slot is one row of ``{schema}.memspec_slot``: the conversation ID (as UTF-8 ``bytea``,
because PostgreSQL text cannot hold ``\\x00`` and IDs may), the memory type, the items and the
metadata (``json``, the stored record's ``data`` and ``metadata`` members) and an expiry time
(``timestamptz``, ``NULL`` for none). Every operation is one statement on one pooled
connection (``psycopg_pool``), so it is atomic for every process sharing the database:

========  ==================================================================================
store     ``INSERT … ON CONFLICT … DO UPDATE`` (with a bounded purge of expired rows in a
          ``WITH`` clause, through the index on the expiry time)
update    ``UPDATE … WHERE`` the row is live; metadata kept unless the update gives some
retrieve  ``SELECT`` of a live row
delete    ``DELETE``
========  ==================================================================================

Expiry is measured by the *server's* clock (``now()`` of the statement), so every process and
host sharing the database agrees on it, and there is no ``clock`` parameter. The tables are
created on first use and versioned in ``{schema}.memspec_meta``; a newer version is refused.
Every database failure raises :class:`~memspec.MemoryBackendError` chained to psycopg's
exception, and passwords never appear in ``repr`` or messages.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from memspec.errors import MemoryBackendError
from memspec.models import (
    IMemoryInput,
    IWorkingMemory,
    as_memory_input,
    copy_metadata,
    require_data,
)
from memspec.reference.faults import LoopbackProxy, proxy_outage
from memspec.ttl import DEFAULT_TTL, validate_ttl
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from pydantic import TypeAdapter, ValidationError

__all__ = [
    "HOLD_FOR",
    "PURGE_BATCH",
    "PURGE_EVERY",
    "SCHEMA_VERSION",
    "AsyncPostgresMemoryManager",
    "PostgresMemoryManager",
    "isolated_async_postgres_manager",
    "isolated_postgres_manager",
    "redact",
]

#: Operations a manager runs on the connection it holds between operations before it gives it
#: back to the pool (which then applies its own policies, such as ``max_lifetime``).
HOLD_FOR = 256

#: Version of the tables this module creates; a schema holding a newer one is refused.
SCHEMA_VERSION = 1

#: One store in PURGE_EVERY first deletes up to PURGE_BATCH expired rows: the backlog shrinks
#: faster than stores add to it, and the other stores stay a single upsert.
PURGE_EVERY = 16
PURGE_BATCH = 64

_ITEMS: TypeAdapter[list[IWorkingMemory]] = TypeAdapter(list[IWorkingMemory])
_METADATA = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

Params = tuple[Any, ...]


def redact(conninfo: str) -> str:
    """``conninfo`` (a URL or ``key=value`` string) as ``key=value`` pairs with any password
    replaced by ``***``, for repr, logs and errors; a string libpq cannot parse is hidden."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "<unparsable conninfo>"
    if "password" in params:
        params["password"] = "***"
    return make_conninfo("", **params)


def _scrub(message: str, conninfo: str) -> str:
    """Remove the conninfo's password from a message, should a library ever include it."""
    password = conninfo_to_dict(conninfo).get("password")
    return message.replace(str(password), "***") if password else message


def _check_conninfo(conninfo: object) -> str:
    if not isinstance(conninfo, str):
        raise TypeError(f"conninfo must be a str, not {type(conninfo).__name__}")
    try:
        conninfo_to_dict(conninfo)
    except psycopg.Error:
        # libpq's message may quote the string, password included: say what is wrong only.
        raise ValueError(
            "conninfo is not a libpq connection string (key=value pairs or a postgresql:// URL)"
        ) from None
    return conninfo


def _check_schema(schema: object) -> str:
    if not isinstance(schema, str) or not 0 < len(schema.encode("utf-8", "replace")) <= 63:
        raise ValueError(f"schema must be a PostgreSQL identifier (1-63 bytes), not {schema!r}")
    if "\x00" in schema:
        raise ValueError(f"schema cannot contain NUL characters: {schema!r}")
    return schema


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _stale(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle pooled connection is unusable: closed, or hung up on by the server or
    the network since its last use. One non-blocking read (libpq's ``PQconsumeInput``: the
    socket is non-blocking) sees the hang-up, so a dead connection is replaced before it fails
    an operation; that is how a manager recovers from an outage without being rebuilt."""
    try:
        conn.pgconn.consume_input()
    except psycopg.Error:
        return True
    return conn.closed or conn.broken


def _tracked_sync(
    base: type[psycopg.Connection[Any]], plan: _Plan
) -> type[psycopg.Connection[Any]]:
    """``base`` recording the outcome of each connection attempt in ``plan.connect_error``."""

    class Tracked(base):  # type: ignore[valid-type,misc]
        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Any:
            with plan.connecting():
                return super().connect(*args, **kwargs)

    return Tracked


def _tracked_async(
    base: type[psycopg.AsyncConnection[Any]], plan: _Plan
) -> type[psycopg.AsyncConnection[Any]]:
    """The async twin of :func:`_tracked_sync`."""

    class Tracked(base):  # type: ignore[valid-type,misc]
        @classmethod
        async def connect(cls, *args: Any, **kwargs: Any) -> Any:
            with plan.connecting():
                return await super().connect(*args, **kwargs)

    return Tracked


class _Plan:
    """What the sync and async managers share: statements, parameters, decoding, errors."""

    def __init__(self, conninfo: str, schema: str, ttl: float | None) -> None:
        self.conninfo = conninfo
        self.schema = schema
        self.ttl = ttl
        #: libpq's message for the pool's last failed connection attempt (None after a success):
        #: a pool timeout names it, so that "no connection" says why.
        self.connect_error: str | None = None
        self.stores = itertools.count(1)  # next() is atomic: threads may share it
        slot = sql.Identifier(schema, "memspec_slot")
        self.meta_table = sql.Identifier(schema, "memspec_meta").as_string()
        self.where = f"PostgreSQL {redact(conninfo) or '(libpq defaults)'} schema {schema!r}"
        live = "(expires_at IS NULL OR expires_at > now())"
        expiry = "now() + make_interval(secs => %s::float8)"
        upsert = (
            "INSERT INTO {slot} (conversation_id, memory_type, data, metadata, expires_at) "
            "VALUES (%s, %s, %s::json, %s::json, {expiry}) "
            "ON CONFLICT (conversation_id, memory_type) DO UPDATE SET data = excluded.data, "
            "metadata = excluded.metadata, expires_at = excluded.expires_at"
        )
        self.store = sql.SQL(upsert).format(slot=slot, expiry=sql.SQL(expiry)).as_string()
        # Every PURGE_EVERY-th store first deletes up to PURGE_BATCH expired rows, oldest first
        # through the expiry index, skipping rows another transaction holds. It is a statement
        # of its own, which never waits for a lock: in one statement with the upsert, whether
        # the purged rows stay locked while the upsert waits for its row is left to the
        # planner, and if they did, a writer of one of them would close a deadlock.
        self.purge = (
            sql.SQL(
                "DELETE FROM {slot} WHERE ctid = ANY(ARRAY("
                "SELECT ctid FROM {slot} WHERE expires_at <= now() "
                "ORDER BY expires_at LIMIT {batch} FOR UPDATE SKIP LOCKED))"
            )
            .format(slot=slot, batch=sql.Literal(PURGE_BATCH))
            .as_string()
        )
        self.update = (
            sql.SQL(
                "UPDATE {slot} SET data = %s::json, metadata = coalesce(%s::json, metadata), "
                "expires_at = {expiry} "
                "WHERE conversation_id = %s AND memory_type = %s AND {live}"
            )
            .format(slot=slot, expiry=sql.SQL(expiry), live=sql.SQL(live))
            .as_string()
        )
        self.retrieve = (
            sql.SQL(
                "SELECT data::text FROM {slot} WHERE conversation_id = %s AND memory_type = %s "
                "AND {live}"
            )
            .format(slot=slot, live=sql.SQL(live))
            .as_string()
        )
        self.delete = (
            sql.SQL("DELETE FROM {slot} WHERE conversation_id = %s AND memory_type = %s")
            .format(slot=slot)
            .as_string()
        )
        self.count = (
            sql.SQL("SELECT count(*) FROM {slot} WHERE {live}")
            .format(slot=slot, live=sql.SQL(live))
            .as_string()
        )
        self.purge_all = (
            sql.SQL("DELETE FROM {slot} WHERE expires_at <= now()").format(slot=slot).as_string()
        )
        self.lock = ("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"memspec:{schema}",))
        self.find_meta = ("SELECT to_regclass(%s) IS NOT NULL", (self.meta_table,))
        self.read_version = (
            f"SELECT value FROM {self.meta_table} WHERE key = 'schema_version'",
            (),
        )
        self.has_schema = ("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        self.create_schema = sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)).as_string()
        self.create_tables = [
            f"CREATE TABLE {self.meta_table} (key text PRIMARY KEY, value text NOT NULL)",
            sql.SQL(
                "CREATE TABLE {slot} (conversation_id bytea NOT NULL, memory_type text NOT NULL, "
                "data json NOT NULL, metadata json NOT NULL, expires_at timestamptz, "
                "PRIMARY KEY (conversation_id, memory_type))"
            )
            .format(slot=slot)
            .as_string(),
            sql.SQL("CREATE INDEX {index} ON {slot} (expires_at) WHERE expires_at IS NOT NULL")
            .format(index=sql.Identifier("memspec_slot_expiry"), slot=slot)
            .as_string(),
            f"INSERT INTO {self.meta_table} (key, value) "
            f"VALUES ('schema_version', '{SCHEMA_VERSION}')",
        ]
        self.drop_schema = (
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)).as_string()
        )

    # -- rows -------------------------------------------------------------------------------

    @staticmethod
    def slot(request: IMemoryInput) -> tuple[bytes, str]:
        """The primary key; a lone surrogate in the ID raises ``UnicodeEncodeError`` here."""
        return request.conversation_id.encode("utf-8"), request.memory_type._value_

    @staticmethod
    def items(items: list[IWorkingMemory]) -> str:
        """The items as compact JSON; a lone surrogate raises ``ValueError`` here."""
        return _ITEMS.dump_json(items).decode("utf-8")

    @staticmethod
    def metadata(metadata: Mapping[str, Any] | None) -> str | None:
        """JSON text, or ``None`` for none given; non-JSON metadata raises here, before any
        round trip (``TypeError``, or ``ValueError`` for NaN, which ``json`` cannot hold)."""
        copied = copy_metadata(metadata)
        if copied is None:
            return None
        return _METADATA.encode(copied)

    def store_statements(self, request: IMemoryInput) -> list[tuple[str, Params]]:
        """The upsert and its parameters, after the purge on every PURGE_EVERY-th call.

        Everything is encoded before the first statement runs: a value that cannot be stored
        raises here, with nothing changed."""
        cid, memory_type = self.slot(request)
        data = self.items(require_data(request, "store"))
        upsert = (
            self.store,
            (cid, memory_type, data, self.metadata(request.metadata) or "{}", self.ttl),
        )
        if next(self.stores) % PURGE_EVERY:
            return [upsert]
        return [(self.purge, ()), upsert]

    def update_params(self, request: IMemoryInput) -> Params:
        cid, memory_type = self.slot(request)
        data = self.items(require_data(request, "update"))
        return data, self.metadata(request.metadata), self.ttl, cid, memory_type

    def key(self, request: IMemoryInput) -> str:
        """The key ``store`` returns: schema, table, memory type and conversation ID."""
        return f"{self.schema}.memspec_slot/{request.memory_type._value_}/{request.conversation_id}"

    def decode(self, request: IMemoryInput, row: tuple[Any, ...] | None) -> list[IWorkingMemory]:
        if row is None:
            return []
        try:
            items = _ITEMS.validate_json(row[0])
        except ValidationError as exc:
            items = []
            problem = f"{exc.error_count()} validation errors"
        else:
            problem = "no items"
        if not items:
            raise MemoryBackendError(
                f"the row for {self.key(request)!r} in {self.where} is not a memspec record "
                f"({problem}); it was left untouched"
            )
        return items

    def version_error(self, found: object) -> MemoryBackendError | None:
        if found == str(SCHEMA_VERSION):
            return None
        return MemoryBackendError(
            f"{self.where} holds memspec tables of schema version {found}; this memspec reads "
            f"version {SCHEMA_VERSION}. Use the memspec release that wrote them; nothing is "
            "migrated automatically."
        )

    # -- failures ---------------------------------------------------------------------------

    @contextmanager
    def connecting(self) -> Iterator[None]:
        """Record the outcome of one connection attempt in :attr:`connect_error`."""
        try:
            yield
        except psycopg.Error as exc:
            self.connect_error = str(exc).strip()
            raise
        self.connect_error = None

    def failure(self, operation: str, exc: psycopg.Error) -> MemoryBackendError:
        message = f"{type(exc).__name__}: {str(exc).strip()}"
        if isinstance(exc, PoolTimeout) and self.connect_error:
            message += f"; the last connection attempt failed: {self.connect_error}"
        return MemoryBackendError(
            f"{operation} on {self.where} failed: {_scrub(message, self.conninfo)}"
        )

    @contextmanager
    def failures(self, operation: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise self.failure(operation, exc) from exc


class _PostgresManager:
    """Construction and settings shared by the sync and async managers."""

    #: Expiry times are microseconds of the server's clock; the suite allows this much slack
    #: between its own clock and the server's.
    expiry_precision = 0.005

    def __init__(
        self,
        conninfo: str = "",
        *,
        ttl: float | None = DEFAULT_TTL,
        schema: str = "public",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        connect_timeout: float = 5.0,
        pool_options: Mapping[str, Any] | None = None,
    ) -> None:
        conninfo = _check_conninfo(conninfo)
        timeout = _check_positive("timeout", timeout)
        connect_timeout = _check_positive("connect_timeout", connect_timeout)
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
            raise ValueError(f"min_size must be an int >= 0, not {min_size!r}")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"max_size must be an int >= 1, not {max_size!r}")
        if max_size < min_size:
            raise ValueError(f"max_size ({max_size}) must be at least min_size ({min_size})")
        self._plan = _Plan(conninfo, _check_schema(schema), validate_ttl(ttl))
        self._ready = False
        self._owned_schema = False
        self._cleanups: list[Callable[[], None]] = []
        self._pool_arguments: dict[str, Any] = {
            "conninfo": conninfo,
            "min_size": min_size,
            "max_size": max_size,
            "timeout": timeout,
            # Give up a failing reconnection after half of `timeout` and reconnect on demand
            # (psycopg_pool's default backs off for minutes): when the server is back, the
            # next operation gets a connection well within its `timeout`, whatever the
            # outage's length.
            "reconnect_timeout": timeout / 2,
            "kwargs": {
                "autocommit": True,
                "connect_timeout": max(1, round(connect_timeout)),
                "application_name": "memspec",
            },
            "name": f"memspec-{schema}",
            **(pool_options or {}),
        }

    def __repr__(self) -> str:
        plan = self._plan
        return (
            f"{type(self).__name__}(conninfo={redact(plan.conninfo)!r}, "
            f"schema={plan.schema!r}, ttl={plan.ttl!r})"
        )

    @property
    def ttl(self) -> float | None:
        """Lifetime of a slot in seconds, ``None`` for no expiry."""
        return self._plan.ttl

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding this manager's tables."""
        return self._plan.schema

    def key(self, request: IMemoryInput) -> str:
        """The key ``store`` returns for ``request``'s slot."""
        return self._plan.key(request)

    def _run_cleanups(self) -> None:
        while self._cleanups:
            self._cleanups.pop()()


class PostgresMemoryManager(_PostgresManager):
    """Working memory in PostgreSQL, shared by every process that uses the same database.

    ``conninfo`` is a libpq connection string or ``postgresql://`` URL (empty: libpq's
    defaults and ``PG*`` environment variables). ``schema`` holds the tables (created on
    first use, with the schema if missing). The pool keeps ``min_size`` to ``max_size``
    connections; an operation waits at most ``timeout`` seconds for one, so during an outage
    each operation fails after that long. ``pool_options`` go to
    :class:`psycopg_pool.ConnectionPool` as they are.
    """

    def __init__(self, conninfo: str = "", **options: Any) -> None:
        super().__init__(conninfo, **options)
        self._lock = threading.Lock()
        arguments = self._pool_arguments
        arguments["connection_class"] = _tracked_sync(
            arguments.get("connection_class", psycopg.Connection), self._plan
        )
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            open=True, **arguments
        )
        self._held: psycopg.Connection[tuple[Any, ...]] | None = None
        self._held_lock = threading.Lock()
        self._held_uses = 0
        # Holding a connection needs a second one for the other threads.
        self._holds = self._pool.max_size >= 2

    # -- the four operations -------------------------------------------------------------

    def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """One upsert: the slot's content becomes ``input.data``; its lifetime restarts. Every
        ``PURGE_EVERY``-th store first deletes up to ``PURGE_BATCH`` expired rows."""
        request = as_memory_input(input)
        for statement, params in self._plan.store_statements(request):
            self._execute("store", statement, params)
        return self._plan.key(request)

    def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """The slot's items in order, or ``[]`` when it is missing or expired."""
        request = as_memory_input(input)
        row = self._execute("retrieve", self._plan.retrieve, self._plan.slot(request), fetch=True)
        return self._plan.decode(request, row)

    def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """Replace a live slot's items (and metadata, when given); never create one."""
        request = as_memory_input(input)
        self._execute("update", self._plan.update, self._plan.update_params(request))

    def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """Remove the slot; other memory types stay. Missing is fine."""
        request = as_memory_input(input)
        self._execute("delete", self._plan.delete, self._plan.slot(request))

    # -- housekeeping ---------------------------------------------------------------------

    def clear_expired(self) -> int:
        """Delete every expired row now; return how many were removed."""
        with self._plan.failures("clear_expired"), self._connection() as conn:
            return conn.execute(self._plan.purge_all).rowcount

    def __len__(self) -> int:
        """The number of live slots."""
        row = self._execute("count", self._plan.count, (), fetch=True)
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the pool (after dropping the schema, if this manager made it temporary)."""
        with self._held_lock:
            if not self._pool.closed:
                self._release_held()
        try:
            if self._owned_schema and not self._pool.closed:
                with self._plan.failures("drop schema"), self._connection() as conn:
                    conn.execute(self._plan.drop_schema)
        finally:
            self._pool.close()
            self._run_cleanups()

    def __enter__(self) -> PostgresMemoryManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------

    def _checkout(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A pooled connection that is not stale; stale ones are closed and given back, and
        the pool replaces them."""
        pool = self._pool
        conn = pool.getconn()
        for _ in range(pool.max_size):
            if not _stale(conn):
                break
            conn.close()
            pool.putconn(conn)
            conn = pool.getconn()
        return conn

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        conn = self._checkout()
        try:
            yield conn
        finally:
            self._pool.putconn(conn)

    def _execute(
        self, operation: str, statement: str, params: Params, *, fetch: bool = False
    ) -> Any:
        # What _connection and _plan.failures do, written out: this is every operation's path.
        try:
            if not self._ready:
                self._prepare()
            if self._holds and self._held_lock.acquire(blocking=False):
                try:
                    return self._on_held(statement, params, fetch)
                finally:
                    self._held_lock.release()
            conn = self._checkout()  # another thread is on the held connection
            try:
                cursor = conn.execute(statement, params)
                return cursor.fetchone() if fetch else None
            finally:
                self._pool.putconn(conn)
        except psycopg.Error as exc:
            raise self._plan.failure(operation, exc) from exc

    def _on_held(self, statement: str, params: Params, fetch: bool) -> Any:
        """Run a statement on the connection the manager holds between operations (called
        with ``_held_lock``): a thread that finds it free skips the pool's bookkeeping, which
        costs about as much as the rest of the manager. It is checked out like any other
        (and replaced when stale), and given back after a failure and every ``HOLD_FOR``
        operations, so that the pool still judges and recycles it."""
        conn = self._held
        if conn is None or _stale(conn):
            self._release_held(close=True)
            conn = self._held = self._checkout()
        try:
            cursor = conn.execute(statement, params)
            row = cursor.fetchone() if fetch else None
        except BaseException:
            self._release_held()
            raise
        self._held_uses += 1
        if self._held_uses >= HOLD_FOR:
            self._release_held()
        return row

    def _release_held(self, *, close: bool = False) -> None:
        conn, self._held, self._held_uses = self._held, None, 0
        if conn is not None:
            if close:
                conn.close()
            self._pool.putconn(conn)

    def _prepare(self) -> None:
        """Create the tables if missing and check their version, once per manager."""
        plan = self._plan
        with self._lock:
            if self._ready:
                return
            with self._connection() as conn, conn.transaction():
                conn.execute(*plan.lock)
                if not conn.execute(*plan.find_meta).fetchone()[0]:  # type: ignore[index]
                    if conn.execute(*plan.has_schema).fetchone() is None:
                        conn.execute(plan.create_schema)
                    for statement in plan.create_tables:
                        conn.execute(statement)
                row = conn.execute(*plan.read_version).fetchone()
            problem = plan.version_error(row[0] if row else None)
            if problem is not None:
                raise problem
            self._ready = True


class AsyncPostgresMemoryManager(_PostgresManager):
    """The async twin of :class:`PostgresMemoryManager`, on an ``AsyncConnectionPool``.

    The pool opens on the first operation, in the event loop that runs it; use the manager
    from that loop only, and ``await aclose()`` there.
    """

    def __init__(self, conninfo: str = "", **options: Any) -> None:
        super().__init__(conninfo, **options)
        self._lock = asyncio.Lock()
        self._opened = False
        arguments = self._pool_arguments
        arguments["connection_class"] = _tracked_async(
            arguments.get("connection_class", psycopg.AsyncConnection), self._plan
        )
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]] = (
            AsyncConnectionPool(open=False, **arguments)
        )
        self._held: psycopg.AsyncConnection[tuple[Any, ...]] | None = None
        self._held_busy = False  # one task at a time on it; the loop runs one task at a time
        self._held_uses = 0
        self._holds = self._pool.max_size >= 2

    async def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """See :meth:`PostgresMemoryManager.store`."""
        request = as_memory_input(input)
        for statement, params in self._plan.store_statements(request):
            await self._execute("store", statement, params)
        return self._plan.key(request)

    async def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """See :meth:`PostgresMemoryManager.retrieve`."""
        request = as_memory_input(input)
        row = await self._execute(
            "retrieve", self._plan.retrieve, self._plan.slot(request), fetch=True
        )
        return self._plan.decode(request, row)

    async def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`PostgresMemoryManager.update`."""
        request = as_memory_input(input)
        await self._execute("update", self._plan.update, self._plan.update_params(request))

    async def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`PostgresMemoryManager.delete`."""
        request = as_memory_input(input)
        await self._execute("delete", self._plan.delete, self._plan.slot(request))

    async def clear_expired(self) -> int:
        """See :meth:`PostgresMemoryManager.clear_expired`."""
        with self._plan.failures("clear_expired"):
            await self._open()
            async with self._connection() as conn:
                return (await conn.execute(self._plan.purge_all)).rowcount

    async def count(self) -> int:
        """The number of live slots."""
        row = await self._execute("count", self._plan.count, (), fetch=True)
        return int(row[0]) if row else 0

    async def aclose(self) -> None:
        """Close the pool (after dropping the schema, if this manager made it temporary)."""
        if not self._held_busy and not self._pool.closed:
            await self._release_held()
        try:
            if self._owned_schema and self._opened and not self._pool.closed:
                with self._plan.failures("drop schema"):
                    async with self._connection() as conn:
                        await conn.execute(self._plan.drop_schema)
        finally:
            await self._pool.close()
            self._run_cleanups()

    # -- internals ----------------------------------------------------------------------

    async def _open(self) -> None:
        if not self._opened:
            async with self._lock:
                if not self._opened:
                    await self._pool.open()
                    self._opened = True

    async def _checkout(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        """See :meth:`PostgresMemoryManager._checkout`."""
        pool = self._pool
        conn = await pool.getconn()
        for _ in range(pool.max_size):
            if not _stale(conn):
                break
            await conn.close()
            await pool.putconn(conn)
            conn = await pool.getconn()
        return conn

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[tuple[Any, ...]]]:
        conn = await self._checkout()
        try:
            yield conn
        finally:
            await self._pool.putconn(conn)

    async def _execute(
        self, operation: str, statement: str, params: Params, *, fetch: bool = False
    ) -> Any:
        try:
            if not self._ready:
                await self._prepare()
            if self._holds and not self._held_busy:
                self._held_busy = True  # as in PostgresMemoryManager._on_held, inlined
                try:
                    conn = self._held
                    if conn is None or _stale(conn):
                        await self._release_held(close=True)
                        conn = self._held = await self._checkout()
                    try:
                        cursor = await conn.execute(statement, params)
                        row = await cursor.fetchone() if fetch else None
                    except BaseException:
                        await self._release_held()
                        raise
                    self._held_uses += 1
                    if self._held_uses >= HOLD_FOR:
                        await self._release_held()
                    return row
                finally:
                    self._held_busy = False
            conn = await self._checkout()  # another task is on the held connection
            try:
                cursor = await conn.execute(statement, params)
                return await cursor.fetchone() if fetch else None
            finally:
                await self._pool.putconn(conn)
        except psycopg.Error as exc:
            raise self._plan.failure(operation, exc) from exc

    async def _release_held(self, *, close: bool = False) -> None:
        conn, self._held, self._held_uses = self._held, None, 0
        if conn is not None:
            if close:
                await conn.close()
            await self._pool.putconn(conn)

    async def _prepare(self) -> None:
        """See :meth:`PostgresMemoryManager._prepare`."""
        await self._open()
        plan = self._plan
        async with self._lock:
            if self._ready:
                return
            async with self._connection() as conn, conn.transaction():
                await conn.execute(*plan.lock)
                if not (await (await conn.execute(*plan.find_meta)).fetchone())[0]:  # type: ignore[index]
                    if await (await conn.execute(*plan.has_schema)).fetchone() is None:
                        await conn.execute(plan.create_schema)
                    for statement in plan.create_tables:
                        await conn.execute(statement)
                row = await (await conn.execute(*plan.read_version)).fetchone()
            problem = plan.version_error(row[0] if row else None)
            if problem is not None:
                raise problem
            self._ready = True


# -- certification ----------------------------------------------------------------------------

#: Pool settings of the certification factories: short waits, so that each operation during
#: an outage fails within a second.
_CERTIFY_POOL = {"min_size": 1, "max_size": 12, "timeout": 1.0, "connect_timeout": 2.0}


def _endpoint(conninfo: str) -> tuple[str, int]:
    """The TCP host and port ``conninfo`` (or the ``PG*`` environment) names."""
    params = conninfo_to_dict(conninfo)
    host = str(params.get("hostaddr") or params.get("host") or os.environ.get("PGHOST") or "")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    if not host or host.startswith("/") or "," in host or "," in port:
        raise ValueError(
            "the certification factories connect through a loopback TCP proxy: give conninfo "
            f"one TCP host (not a Unix socket or a host list), not {redact(conninfo)!r}"
        )
    return host, int(port)


def _build(
    cls: type[Any], conninfo: str, ttl: float | None, schema: str, *, owns_schema: bool
) -> Any:
    """A manager of ``cls`` connecting through its own :class:`LoopbackProxy` (its outage
    switch), remembering ``conninfo`` for :func:`_reopen`."""
    conninfo = _check_conninfo(conninfo)
    proxy = LoopbackProxy(*_endpoint(conninfo))
    try:
        through = make_conninfo(conninfo, host="127.0.0.1", hostaddr="127.0.0.1", port=proxy.port)
        manager = cls(through, ttl=ttl, schema=schema, **_CERTIFY_POOL)
    except BaseException:
        proxy.close()
        raise
    manager._owned_schema = owns_schema
    manager._cleanups.append(proxy.close)
    manager._memspec_proxy = proxy
    manager._memspec_conninfo = conninfo
    return manager


def isolated_postgres_manager(
    ttl: float | None = DEFAULT_TTL, conninfo: str | None = None
) -> PostgresMemoryManager:
    """A manager in a fresh schema, dropped by ``close()``: made for certification.

    ``memspec certify memspec.reference.postgres:isolated_postgres_manager`` certifies
    against ``conninfo`` (else ``$DATABASE_URL``, else the ``PG*`` environment), which must
    name one TCP host. The manager connects through a :class:`LoopbackProxy` of its own:
    ``memspec_reopen`` opens a second manager on the same schema, ``memspec_outage`` cuts
    the proxy.
    """
    conninfo = os.environ.get("DATABASE_URL", "") if conninfo is None else conninfo
    schema = f"memspec_certify_{uuid.uuid4().hex}"
    manager: PostgresMemoryManager = _build(
        PostgresMemoryManager, conninfo, ttl, schema, owns_schema=True
    )
    return manager


def isolated_async_postgres_manager(
    ttl: float | None = DEFAULT_TTL, conninfo: str | None = None
) -> AsyncPostgresMemoryManager:
    """The async twin of :func:`isolated_postgres_manager`."""
    conninfo = os.environ.get("DATABASE_URL", "") if conninfo is None else conninfo
    schema = f"memspec_certify_{uuid.uuid4().hex}"
    manager: AsyncPostgresMemoryManager = _build(
        AsyncPostgresMemoryManager, conninfo, ttl, schema, owns_schema=True
    )
    return manager


def _reopen(manager: _PostgresManager) -> Any:
    """A second manager of the same class on the same schema, through a proxy of its own."""
    return _build(
        type(manager),
        manager._memspec_conninfo,  # type: ignore[attr-defined]
        manager.ttl,
        manager.schema,
        owns_schema=False,
    )


isolated_postgres_manager.memspec_reopen = _reopen  # type: ignore[attr-defined]
isolated_postgres_manager.memspec_outage = proxy_outage  # type: ignore[attr-defined]
isolated_async_postgres_manager.memspec_reopen = _reopen  # type: ignore[attr-defined]
isolated_async_postgres_manager.memspec_outage = proxy_outage  # type: ignore[attr-defined]
