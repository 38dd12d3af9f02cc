"""A fourth held-out corpus: ten managers written the way real projects write them, each with one
realistic bug that breaks at least one MUST requirement of the catalogue.

It was written on 2026-12-04 by an engineer who read the specification (the requirement
catalogue, the data model, the protocols and the prose), the reference managers and only the
class docstrings of the other corpora, to avoid repeating a kind of bug they already hold; not
how the conformance suite checks anything, and the suite was never run against these managers
(each was exercised directly, to see that it works except for its bug and that the bug shows).
The share of them the suite catches is therefore an honest measure of its power on code it was
never tuned on. Each design follows real code (a Fern-generated REST client, Cassandra's
partition keys, py-lmdb, JSON Lines session transcripts, pymongo filters, per-thread sqlite3
connections, redis-py's asyncio client, a heapq expiry schedule, SQLite foreign keys,
Elasticsearch dynamic mapping); the docstring of each class names it, states the bug and says
how it shows. ``BREAKS`` lists the MUST requirements the bug violates by a plain reading of
their statements, and ``RACE = True`` marks a bug that shows only under concurrency.

Backends that are servers in real life (the memory service, Cassandra, MongoDB, Redis,
Elasticsearch) and the LMDB environment and the transcript directory are simulated in process
with the semantics that matter for the bug; SQLite is used directly. Everything else about each
manager is meant to be correct: validation before any change, snapshots of the caller's data,
expiry checked on every read with the injected clock, lifetimes restarted by every write,
updates that never create a slot, one lock (or one atomic backend command) per operation.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import enum
import hashlib
import heapq
import json
import math
import re
import sqlite3
import string
import struct
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, NamedTuple

# mypy cannot resolve memspec through the editable install's package-dir mapping (the Makefile's
# `tree` target works around it); where it can, these ignores are unused and stay silent.
from memspec import (
    ConversationMemoryType,
    IMemoryInput,
    IWorkingMemory,
    MemoryBackendError,
    as_memory_input,
    copy_metadata,
    require_data,
)
from memspec.ttl import (
    DEFAULT_TTL,
    Clock,
    validate_clock,
    validate_ttl,
)

__all__ = [
    "HELDOUT4",
    "AsyncRedisCancelledReplyManager",
    "CassandraKeyBytesManager",
    "ElasticsearchDynamicMappingManager",
    "HeapTieScheduleManager",
    "JsonlSplitlinesManager",
    "LmdbDefaultMapSizeManager",
    "MongoNullDeadlineManager",
    "SqliteForeignKeysOffManager",
    "ThreadLocalSqliteManager",
    "UnencodedPathParamManager",
]

_MEMORY_TYPES = frozenset(member.value for member in ConversationMemoryType)

#: Expired slots removed per write by the managers that clean up on the write path.
_PURGE_BATCH = 16


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


def _digest(request: IMemoryInput) -> bytes:
    """SHA-256 of the slot's memory type and conversation ID (the type never holds a NUL)."""
    name = f"{request.memory_type.value}\x00{request.conversation_id}"
    return hashlib.sha256(name.encode("utf-8")).digest()


# --------------------------------------------------------------------------- 1. key derivation

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_HEX_DIGITS = frozenset(string.hexdigits)

#: The service's route, ``/v1/conversations/{conversation_id:path}/memory/{memory_type}``.
_SERVICE_ROUTE = re.compile(
    r"/v1/conversations/(?P<conversation_id>.+)/memory/(?P<memory_type>[^/]+)", re.DOTALL
)


def _percent_encode(text: str, safe: frozenset[str]) -> str:
    """httpx's quoting of a URL component: a character outside ``safe`` becomes the ``%XX``
    escapes of its UTF-8 bytes, and an existing ``%XX`` escape is kept as it is (so a lone
    ``%`` becomes ``%25``, but ``%41`` goes out as ``%41``)."""
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        escape = text[position + 1 : position + 3]
        if char == "%" and len(escape) == 2 and set(escape) <= _HEX_DIGITS:
            out.append(text[position : position + 3])
            position += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        position += 1
    return "".join(out)


class _MemoryService:
    """The team's memory service behind its ASGI server, in process. The server percent-decodes
    the request path (``scope["path"]``, as uvicorn hands it to Starlette) and routes it with
    ``/v1/conversations/{conversation_id:path}/memory/{memory_type}``; ``PUT`` replaces a slot,
    ``PATCH`` replaces a live one (404 otherwise), ``GET`` reads a live one, ``DELETE`` removes
    one. A slot lives ``expires_in`` seconds (``null``: forever) on the injected clock, and each
    request runs alone."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._slots: dict[tuple[str, str], tuple[tuple[str, ...], Any, float | None]] = {}
        self._lock = threading.Lock()

    def handle(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        path = urllib.parse.unquote(target.partition("?")[0], errors="replace")
        route = _SERVICE_ROUTE.fullmatch(path)
        if route is None:
            return 404, b'{"detail":"Not Found"}'
        if route["memory_type"] not in _MEMORY_TYPES:
            return 422, b'{"detail":"unknown memory type"}'
        slot = (route["conversation_id"], route["memory_type"])
        payload: dict[str, Any] = {} if body is None else json.loads(body)
        with self._lock:
            now = self._clock()
            current = self._slots.get(slot)
            if current is not None and not _is_live(current[2], now):
                del self._slots[slot]
                current = None
            if method == "GET":
                if current is None:
                    return 404, b'{"detail":"no memory for this conversation"}'
                return 200, json.dumps({"items": list(current[0])}).encode("ascii")
            if method == "DELETE":
                self._slots.pop(slot, None)
                return 204, b""
            deadline = _expires_at(payload["expires_in"], now)
            if method == "PUT":
                self._slots[slot] = (tuple(payload["items"]), payload["metadata"], deadline)
                return 200, b"{}"
            if method == "PATCH":
                if current is None:
                    return 404, b'{"detail":"no memory for this conversation"}'
                metadata = current[1] if payload["metadata"] is None else payload["metadata"]
                self._slots[slot] = (tuple(payload["items"]), metadata, deadline)
                return 200, b"{}"
        return 405, b'{"detail":"Method Not Allowed"}'


class _HttpResponse(NamedTuple):
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class _HttpxClient:
    """``httpx.Client`` as far as the SDK uses it: the URL is split by the standard library,
    its fragment is never sent, and its path and query are percent-encoded as httpx does before
    the request line goes out to the transport."""

    def __init__(self, transport: Callable[[str, str, bytes | None], tuple[int, bytes]]) -> None:
        self._transport = transport

    def request(self, method: str, url: str, *, json_body: Any = None) -> _HttpResponse:
        parts = urllib.parse.urlsplit(url)
        target = _percent_encode(parts.path, _PATH_SAFE)
        if parts.query:
            target += "?" + _percent_encode(parts.query, _QUERY_SAFE)
        body = None if json_body is None else json.dumps(json_body).encode("ascii")
        status, content = self._transport(method, target, body)
        return _HttpResponse(status, content)


class _ApiError(Exception):
    """The SDK's ``ApiError``: the service answered with an error status."""

    def __init__(self, status_code: int, body: bytes) -> None:
        super().__init__(f"status_code: {status_code}, body: {body.decode('utf-8', 'replace')}")
        self.status_code = status_code


class _NotFoundError(_ApiError):
    """The SDK's ``NotFoundError`` (404)."""


def _jsonable_encoder(value: object) -> object:
    """Fern's ``jsonable_encoder`` for a path parameter: an enum member becomes its value, and a
    string is returned as it is."""
    if isinstance(value, enum.Enum):
        return value.value
    return value


class _MemoryApi:
    """The service's Python SDK, generated by Fern: every method formats its URL with
    ``urllib.parse.urljoin(f"{base_url}/", f"conversations/{jsonable_encoder(conversation_id)}
    /memory/{jsonable_encoder(memory_type)}")`` and sends it through httpx."""

    def __init__(self, base_url: str, client: _HttpxClient) -> None:
        self._base_url = base_url
        self._client = client

    def _url(self, conversation_id: str, memory_type: ConversationMemoryType) -> str:
        return urllib.parse.urljoin(
            f"{self._base_url}/",
            f"conversations/{_jsonable_encoder(conversation_id)}"
            f"/memory/{_jsonable_encoder(memory_type)}",
        )

    def _send(self, method: str, url: str, body: Any = None) -> _HttpResponse:
        response = self._client.request(method, url, json_body=body)
        if 200 <= response.status_code < 300:
            return response
        if response.status_code == 404:
            raise _NotFoundError(response.status_code, response.content)
        raise _ApiError(response.status_code, response.content)

    def put_memory(
        self,
        conversation_id: str,
        memory_type: ConversationMemoryType,
        *,
        items: list[str],
        metadata: dict[str, Any],
        expires_in: float | None,
    ) -> None:
        body = {"items": items, "metadata": metadata, "expires_in": expires_in}
        self._send("PUT", self._url(conversation_id, memory_type), body)

    def patch_memory(
        self,
        conversation_id: str,
        memory_type: ConversationMemoryType,
        *,
        items: list[str],
        metadata: dict[str, Any] | None,
        expires_in: float | None,
    ) -> None:
        body = {"items": items, "metadata": metadata, "expires_in": expires_in}
        self._send("PATCH", self._url(conversation_id, memory_type), body)

    def get_memory(self, conversation_id: str, memory_type: ConversationMemoryType) -> list[str]:
        items: list[str] = self._send("GET", self._url(conversation_id, memory_type)).json()[
            "items"
        ]
        return items

    def delete_memory(self, conversation_id: str, memory_type: ConversationMemoryType) -> None:
        self._send("DELETE", self._url(conversation_id, memory_type))


class UnencodedPathParamManager:
    """Working memory kept by the team's memory service (Zep's pattern: a REST resource per
    conversation), reached through the service's Python SDK generated by Fern, as Zep's and
    Langfuse's SDKs are: ``PUT`` to store, ``PATCH`` to update (404 when the slot is missing or
    expired, taken as "nothing to update"), ``GET`` to retrieve, ``DELETE`` to delete, each
    request atomic on the server; the service is simulated in process on the injected clock.
    Bug: the generated client interpolates the conversation ID into the path without
    percent-encoding it (fern-api/fern#13065: ``jsonable_encoder`` returns a string as it is)
    and joins it with ``urljoin``. So ``urljoin`` resolves ``.`` and ``..`` segments and drops
    empty ones (``"a/../b"`` is ``"b"``, ``"a//b"`` is ``"a/b"``), ``urlsplit`` strips tabs and
    newlines (``"a\\tb"`` is ``"ab"``), ``?`` and ``#`` cut the path short (mostly to one no
    route matches: such an ID cannot be stored), and the server decodes escapes the ID holds
    (``"%41"`` is ``"A"``): different conversation IDs, or two memory types of one ID such as
    ``"x/memory/SHORT_TERM_MEMORY#"``, share a slot, and reading, updating or deleting one
    reads, changes or deletes the other."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-DEL-002",
        "MM-DEL-003",
        "MM-ISO-001",
        "MM-ISO-002",
        "MM-ISO-003",
        "MM-LIMIT-004",
        "MM-RETR-002",
        "MM-UPD-003",
    )
    RACE: ClassVar[bool] = False

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        base_url: str = "http://memory.internal/v1",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._service = _MemoryService(self._clock)
        self._api = _MemoryApi(base_url, _HttpxClient(self._service.handle))

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"conversations/{request.conversation_id}/memory/{request.memory_type.value}"

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        try:
            self._api.put_memory(
                request.conversation_id,
                request.memory_type,
                items=list(texts),
                metadata=metadata,
                expires_in=self.ttl,
            )
        except _ApiError as exc:
            raise MemoryBackendError(f"store of a working-memory slot failed: {exc}") from exc
        return self._key(request)

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        try:
            texts = self._api.get_memory(request.conversation_id, request.memory_type)
        except _NotFoundError:
            return []
        except _ApiError as exc:
            raise MemoryBackendError(f"retrieve of a working-memory slot failed: {exc}") from exc
        return _items(texts)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        try:
            self._api.patch_memory(
                request.conversation_id,
                request.memory_type,
                items=list(texts),
                metadata=given,
                expires_in=self.ttl,
            )
        except _NotFoundError:
            return
        except _ApiError as exc:
            raise MemoryBackendError(f"update of a working-memory slot failed: {exc}") from exc

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        try:
            self._api.delete_memory(request.conversation_id, request.memory_type)
        except _NotFoundError:
            return
        except _ApiError as exc:
            raise MemoryBackendError(f"delete of a working-memory slot failed: {exc}") from exc


# --------------------------------------------------------------------------- 2. sizes

#: Cassandra serialises a partition key with an unsigned 16-bit length: at most 65,535 bytes.
_CASSANDRA_MAX_KEY_BYTES = 65_535

#: The longest ``USING TTL`` Cassandra accepts: 20 years.
_CASSANDRA_MAX_TTL = 630_720_000


class _InvalidRequest(Exception):
    """``cassandra.InvalidRequest``: the coordinator refused the statement."""


@dataclasses.dataclass(frozen=True)
class _CqlRow:
    items: tuple[str, ...]
    metadata: str
    expires_at: float
    gone_at: float
    """When the cells' ``USING TTL`` runs out and the row disappears (inf without one)."""


class _CassandraSession:
    """``working_memory (conversation_id text, memory_type text, items list<text>, metadata
    text, expires_at double, PRIMARY KEY ((conversation_id), memory_type))`` as the driver's
    prepared statements see it, in process. Every statement writes all regular columns, so a
    row disappears when their ``USING TTL`` runs out (on the injected clock); a partition key
    longer than 65,535 bytes is refused with ``InvalidRequest``, as Cassandra does; an
    ``UPDATE ... IF`` (a lightweight transaction) is linearizable."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._rows: dict[tuple[str, str], _CqlRow] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _check_key(conversation_id: str) -> None:
        size = len(conversation_id.encode("utf-8"))
        if size > _CASSANDRA_MAX_KEY_BYTES:
            raise _InvalidRequest(
                f"Key length of {size} is longer than maximum of {_CASSANDRA_MAX_KEY_BYTES}"
            )

    def _current(self, key: tuple[str, str], now: float) -> _CqlRow | None:
        row = self._rows.get(key)
        if row is not None and now >= row.gone_at:
            del self._rows[key]
            return None
        return row

    def insert(
        self, key: tuple[str, str], row: tuple[tuple[str, ...], str, float], ttl: int | None
    ) -> None:
        """``INSERT INTO working_memory (...) VALUES (...) [USING TTL ?]``."""
        self._check_key(key[0])
        with self._lock:
            now = self._clock()
            self._rows[key] = _CqlRow(*row, now + ttl if ttl is not None else math.inf)

    def select(self, key: tuple[str, str]) -> _CqlRow | None:
        """``SELECT items, metadata, expires_at FROM working_memory WHERE ...``."""
        self._check_key(key[0])
        with self._lock:
            return self._current(key, self._clock())

    def update_if(
        self,
        key: tuple[str, str],
        row: tuple[tuple[str, ...], str, float],
        ttl: int | None,
        *,
        expected_expires_at: float,
    ) -> bool:
        """``UPDATE working_memory [USING TTL ?] SET items = ?, metadata = ?, expires_at = ?
        WHERE ... IF expires_at = ?``: whether it was applied."""
        self._check_key(key[0])
        with self._lock:
            now = self._clock()
            current = self._current(key, now)
            if current is None or current.expires_at != expected_expires_at:
                return False
            self._rows[key] = _CqlRow(*row, now + ttl if ttl is not None else math.inf)
            return True

    def delete(self, key: tuple[str, str]) -> None:
        """``DELETE FROM working_memory WHERE conversation_id = ? AND memory_type = ?``."""
        self._check_key(key[0])
        with self._lock:
            self._rows.pop(key, None)


class CassandraKeyBytesManager:
    """LangChain's ``CassandraChatMessageHistory`` layout (cassio's tables: the session ID is
    the partition key) with one row per slot, the memory type as clustering key, the exact
    deadline in a column (``+Infinity`` for none) checked on every read, ``USING TTL`` a second
    past it so Cassandra drops dead rows itself (left out past Cassandra's 20-year maximum), and
    updates as a read then an ``UPDATE ... IF expires_at = ?`` retried on contention. Cassandra
    refuses a partition key over 65,535 bytes, so ``store`` refuses such an ID up front with
    ``ValueError`` before anything changes (as the catalogue allows for IDs past its bound), and
    the other operations answer for it without a statement (no such slot can exist). Bug: the
    check measures the ID in UTF-8 bytes against Cassandra's limit, while the catalogue's bound
    is 65,536 *characters*: an ID of 65,536 ASCII characters, or of 16,384 four-byte characters
    (emoji), is refused though every ID up to 65,536 characters must work.

    Correct since spec 1.5.0: ``MM-LIMIT-004`` asks for IDs of up to 1,024 bytes and lets a
    manager refuse longer ones with ``ValueError``, as this one does, so it breaks nothing
    (``MM-LIMIT-001``, the 65,536-character rule it broke, is withdrawn)."""

    BREAKS: ClassVar[tuple[str, ...]] = ()
    CORRECT_SINCE: ClassVar[str] = "1.5.0"
    RACE: ClassVar[bool] = False

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._session = _CassandraSession(self._clock)
        backstop = None if self.ttl is None else math.ceil(self.ttl) + 1
        self._cql_ttl = (
            backstop if backstop is not None and backstop <= _CASSANDRA_MAX_TTL else None
        )

    @staticmethod
    def _partition(request: IMemoryInput) -> tuple[str, str] | None:
        """The row's key, or ``None`` when Cassandra could not hold the conversation ID."""
        if len(request.conversation_id.encode("utf-8")) > _CASSANDRA_MAX_KEY_BYTES:
            return None
        return request.conversation_id, request.memory_type.value

    def _deadline(self, now: float) -> float:
        return now + _lifetime(self.ttl)

    @contextmanager
    def _cql(self, operation: str) -> Iterator[None]:
        try:
            yield
        except _InvalidRequest as exc:
            raise MemoryBackendError(f"{operation} of a working-memory slot failed: {exc}") from exc

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = json.dumps(copy_metadata(request.metadata) or {})
        key = self._partition(request)
        if key is None:
            raise ValueError(
                "conversation_id is longer than Cassandra's partition-key limit of "
                f"{_CASSANDRA_MAX_KEY_BYTES} bytes"
            )
        with self._cql("store"):
            row = (texts, metadata, self._deadline(self._clock()))
            self._session.insert(key, row, self._cql_ttl)
        return f"working_memory/{key[1]}/{key[0]}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        key = self._partition(request)
        if key is None:
            return []
        with self._cql("retrieve"):
            row = self._session.select(key)
        if row is None or self._clock() >= row.expires_at:
            return []
        return _items(row.items)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._partition(request)
        if key is None:
            return
        with self._cql("update"):
            while True:
                current = self._session.select(key)
                now = self._clock()
                if current is None or now >= current.expires_at:
                    return
                metadata = current.metadata if given is None else json.dumps(given)
                row = (texts, metadata, self._deadline(now))
                if self._session.update_if(
                    key, row, self._cql_ttl, expected_expires_at=current.expires_at
                ):
                    return

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = self._partition(request)
        if key is None:
            return
        with self._cql("delete"):
            self._session.delete(key)


# --------------------------------------------------------------------------- 3. capacity

#: py-lmdb's default ``map_size``: 10 MiB.
_LMDB_DEFAULT_MAP_SIZE = 10 * 2**20
_LMDB_PAGE = 4096
_LMDB_PAGE_HEADER = 16
_LMDB_NODE_HEADER = 8
_LMDB_NODE_POINTER = 2
#: A node larger than this goes to overflow pages (LMDB's ``me_nodemax``, about half a page).
_LMDB_MAX_NODE = 2040
#: B-tree leaves filled by keys in random order (the digests here) end up ln 2 full on average.
_LMDB_LEAF_FILL = math.log(2)
#: Two meta pages and the roots of the main and named databases.
_LMDB_RESERVED_PAGES = 5


class _LmdbError(Exception):
    """``lmdb.Error``."""


class _MapFullError(_LmdbError):
    """``lmdb.MapFullError``: ``mdb_put: MDB_MAP_FULL: Environment mapsize limit reached``."""


def _lmdb_bytes(key: bytes, value: bytes) -> float:
    """The share of the map an entry takes: its leaf node at the usual fill, plus its overflow
    pages when the value is too large to sit in the leaf."""
    node = _LMDB_NODE_HEADER + len(key) + _LMDB_NODE_POINTER
    if node + len(value) <= _LMDB_MAX_NODE:
        return (node + len(value)) / _LMDB_LEAF_FILL
    pages = math.ceil((len(value) + _LMDB_PAGE_HEADER) / _LMDB_PAGE)
    return (node + 8) / _LMDB_LEAF_FILL + pages * _LMDB_PAGE


class _LmdbEnvironment:
    """An LMDB environment as py-lmdb shows it, in process: named databases of sorted byte
    keys, one write transaction at a time, and a memory map of ``map_size`` bytes. A write
    transaction copies what it changes, so the pages it writes must fit beside the pages of the
    last committed state, which are freed only when it commits; past the map, ``put`` raises
    ``MapFullError`` and the transaction is aborted."""

    def __init__(self, *, map_size: int = _LMDB_DEFAULT_MAP_SIZE, max_dbs: int = 0) -> None:
        self.map_size = map_size
        self._max_dbs = max_dbs
        self.tables: dict[bytes, dict[bytes, bytes]] = {}
        self.orders: dict[bytes, list[bytes]] = {}
        self.used = float(_LMDB_RESERVED_PAGES * _LMDB_PAGE)
        self._lock = threading.Lock()

    def open_db(self, name: bytes) -> bytes:
        with self._lock:
            if name not in self.tables:
                if len(self.tables) >= self._max_dbs:
                    raise _LmdbError("mdb_dbi_open: MDB_DBS_FULL: Environment maxdbs limit reached")
                self.tables[name] = {}
                self.orders[name] = []
        return name

    @contextmanager
    def begin(self, *, write: bool = False) -> Iterator[_LmdbTransaction]:
        with self._lock:
            transaction = _LmdbTransaction(self, write)
            yield transaction
            if write:
                transaction.commit()


class _LmdbTransaction:
    def __init__(self, environment: _LmdbEnvironment, write: bool) -> None:
        self._env = environment
        self._write = write
        self._changes: dict[tuple[bytes, bytes], bytes | None] = {}
        self._grown = 0.0

    def get(self, key: bytes, db: bytes) -> bytes | None:
        if (db, key) in self._changes:
            return self._changes[(db, key)]
        return self._env.tables[db].get(key)

    def put(self, key: bytes, value: bytes, db: bytes) -> None:
        if not self._write:
            raise _LmdbError("mdb_put: EACCES: Permission denied")
        grown = self._grown + _lmdb_bytes(key, value)
        if self._env.used + grown > self._env.map_size:
            raise _MapFullError("mdb_put: MDB_MAP_FULL: Environment mapsize limit reached")
        self._grown = grown
        self._changes[(db, key)] = value

    def delete(self, key: bytes, db: bytes) -> None:
        if not self._write:
            raise _LmdbError("mdb_del: EACCES: Permission denied")
        self._changes[(db, key)] = None

    def first_keys(self, db: bytes, count: int) -> list[bytes]:
        """The first ``count`` keys of ``db`` in order (a cursor from ``first()``), as
        committed; call it before changing ``db`` in this transaction."""
        return self._env.orders[db][:count]

    def commit(self) -> None:
        env = self._env
        for (db, key), value in self._changes.items():
            table, order = env.tables[db], env.orders[db]
            old = table.get(key)
            if old is not None:
                env.used -= _lmdb_bytes(key, old)
                if value is None:
                    del table[key]
                    del order[bisect.bisect_left(order, key)]
            elif value is not None:
                bisect.insort(order, key)
            if value is not None:
                table[key] = value
                env.used += _lmdb_bytes(key, value)


def _sortable(deadline: float) -> bytes:
    """Eight bytes whose order is the order of the floats (sign bit flipped for positives,
    every bit for negatives)."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", deadline))
    bits = bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63
    return struct.pack(">Q", bits)


def _unsortable(raw: bytes) -> float:
    (bits,) = struct.unpack(">Q", raw[:8])
    bits = bits ^ 1 << 63 if bits >> 63 else bits ^ 0xFFFF_FFFF_FFFF_FFFF
    value: float = struct.unpack(">d", struct.pack(">Q", bits))[0]
    return value


class LmdbDefaultMapSizeManager:
    """Embedded, persistent memory in an LMDB environment through py-lmdb, opened as
    ``lmdb.open(path, max_dbs=2)``: a ``slots`` database keyed by a SHA-256 digest of the slot
    (LMDB keys are at most 511 bytes; the record repeats the conversation ID and memory type and
    is checked on read), holding a JSON record with the exact deadline, and an ``expiry``
    database of order-preserving deadline keys that each store walks from the front to drop up
    to 16 expired slots; one write transaction per write. The environment is simulated in
    process with LMDB's page accounting. Bug: ``map_size`` is left at py-lmdb's default of
    10 MiB (the code set ``max_dbs``, which named databases need, and nothing else), so the
    manager holds only what fits in 10 MiB: built with its defaults, it fills up at about 30,000
    live slots of one short item (or nine of a 1 MiB item), and from then on every write that
    needs room fails with ``MDB_MAP_FULL``, raised as ``MemoryBackendError``, far below the
    100,000 live slots a manager built with its defaults must keep."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-LIMIT-003",)
    RACE: ClassVar[bool] = False

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        path: str = "working-memory.lmdb",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self.path = path
        self._env = _LmdbEnvironment(max_dbs=2)
        self._slots = self._env.open_db(b"slots")
        self._expiry = self._env.open_db(b"expiry")

    @contextmanager
    def _lmdb(self, operation: str) -> Iterator[None]:
        try:
            yield
        except _LmdbError as exc:
            raise MemoryBackendError(
                f"{operation} of a working-memory slot in {self.path} failed: {exc}"
            ) from exc

    def _record(
        self, txn: _LmdbTransaction, key: bytes, request: IMemoryInput
    ) -> dict[str, Any] | None:
        raw = txn.get(key, self._slots)
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        if (
            record["conversation_id"] != request.conversation_id
            or record["memory_type"] != request.memory_type.value
        ):
            return None
        return record

    def _write(
        self,
        txn: _LmdbTransaction,
        key: bytes,
        request: IMemoryInput,
        content: tuple[tuple[str, ...], Any],
        now: float,
        old: dict[str, Any] | None,
    ) -> None:
        if old is not None and old["expires_at"] is not None:
            txn.delete(_sortable(old["expires_at"]) + key, self._expiry)
        deadline = _expires_at(self.ttl, now)
        record = {
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type.value,
            "items": list(content[0]),
            "metadata": content[1],
            "expires_at": deadline,
        }
        txn.put(key, json.dumps(record, ensure_ascii=False).encode("utf-8"), self._slots)
        if deadline is not None:
            txn.put(_sortable(deadline) + key, b"", self._expiry)

    def _purge(self, txn: _LmdbTransaction, now: float) -> None:
        for index_key in txn.first_keys(self._expiry, _PURGE_BATCH):
            deadline = _unsortable(index_key)
            if deadline > now:
                break
            txn.delete(index_key, self._expiry)
            slot_key = index_key[8:]
            raw = txn.get(slot_key, self._slots)
            if raw is not None and json.loads(raw)["expires_at"] == deadline:
                txn.delete(slot_key, self._slots)

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = _digest(request)
        with self._lmdb("store"), self._env.begin(write=True) as txn:
            now = self._clock()
            self._purge(txn, now)
            old = self._record(txn, key, request)
            self._write(txn, key, request, (texts, metadata), now, old)
        return f"{self.path}/slots/{key.hex()}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        key = _digest(request)
        with self._lmdb("retrieve"), self._env.begin() as txn:
            record = self._record(txn, key, request)
            now = self._clock()
        if record is None or not _is_live(record["expires_at"], now):
            return []
        return _items(record["items"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = _digest(request)
        with self._lmdb("update"), self._env.begin(write=True) as txn:
            now = self._clock()
            old = self._record(txn, key, request)
            if old is None or not _is_live(old["expires_at"], now):
                return
            metadata = old["metadata"] if given is None else given
            self._write(txn, key, request, (texts, metadata), now, old)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        key = _digest(request)
        with self._lmdb("delete"), self._env.begin(write=True) as txn:
            old = self._record(txn, key, request)
            if old is None:
                return
            txn.delete(key, self._slots)
            if old["expires_at"] is not None:
                txn.delete(_sortable(old["expires_at"]) + key, self._expiry)


# --------------------------------------------------------------------------- 4. serialisation


class _TranscriptDirectory:
    """A directory of transcript files, in process; a file is replaced whole (a temporary file,
    then ``os.replace``), so a reader sees the old file or the new one."""

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


class JsonlSplitlinesManager:
    """One JSON Lines transcript per slot, ``{root}/{memory_type}/{sha256(id)}.jsonl``: a header
    line (conversation ID, memory type, metadata, deadline), then a line per item, written with
    ``json.dumps(..., ensure_ascii=False)`` to keep transcripts readable, as agent session files
    are (OpenViking's session ``messages.jsonl``, the session files of huggingface/tau). A write
    replaces the file whole under one lock; the reader skips a line that does not parse (a
    crash can leave a torn last line), as transcript readers do. Bug: the reader splits the
    file with ``str.splitlines()``, which also breaks lines at U+0085 (NEL), U+2028 and U+2029,
    characters JSON leaves unescaped (volcengine/OpenViking#3984, huggingface/tau#354,
    wbolster/jsonlines#53). An item holding one is cut into fragments that do not parse and is
    silently dropped, and metadata or a conversation ID holding one breaks the header line, so
    the whole slot reads as missing (``retrieve`` returns ``[]``, ``update`` does nothing)."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-FID-001",
        "MM-ISO-003",
        "MM-META-001",
        "MM-RETR-001",
        "MM-STORE-002",
        "MM-UPD-002",
    )
    RACE: ClassVar[bool] = False

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        root: str = "transcripts",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self.root = root
        self._files = _TranscriptDirectory()
        self._lock = threading.Lock()

    def _path(self, request: IMemoryInput) -> str:
        name = hashlib.sha256(request.conversation_id.encode("utf-8")).hexdigest()
        return f"{self.root}/{request.memory_type.value}/{name}.jsonl"

    def _dump(
        self, request: IMemoryInput, texts: tuple[str, ...], metadata: Any, now: float
    ) -> bytes:
        header = {
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type.value,
            "metadata": metadata,
            "expires_at": _expires_at(self.ttl, now),
        }
        lines = [json.dumps(header, ensure_ascii=False)]
        lines.extend(json.dumps({"working_memory": text}, ensure_ascii=False) for text in texts)
        return ("\n".join(lines) + "\n").encode("utf-8")

    @staticmethod
    def _parse(raw: bytes) -> tuple[dict[str, Any], list[str]] | None:
        header: dict[str, Any] | None = None
        texts: list[str] = []
        for line in raw.decode("utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn line
            if not isinstance(record, dict):
                continue
            if header is None:
                if "conversation_id" not in record:
                    return None  # not a transcript of ours
                header = record
                continue
            text = record.get("working_memory")
            if isinstance(text, str):
                texts.append(text)
        return None if header is None else (header, texts)

    def _load(
        self, path: str, request: IMemoryInput, now: float
    ) -> tuple[dict[str, Any], list[str]] | None:
        raw = self._files.read_bytes(path)
        if raw is None:
            return None
        transcript = self._parse(raw)
        if transcript is None:
            return None
        header = transcript[0]
        if (
            header.get("conversation_id") != request.conversation_id
            or header.get("memory_type") != request.memory_type.value
            or not _is_live(header.get("expires_at"), now)
        ):
            return None
        return transcript

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        path = self._path(request)
        with self._lock:
            self._files.replace(path, self._dump(request, texts, metadata, self._clock()))
        return path

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        path = self._path(request)
        with self._lock:
            transcript = self._load(path, request, self._clock())
        return [] if transcript is None else _items(transcript[1])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        path = self._path(request)
        with self._lock:
            now = self._clock()
            transcript = self._load(path, request, now)
            if transcript is None:
                return
            metadata = transcript[0].get("metadata", {}) if given is None else given
            self._files.replace(path, self._dump(request, texts, metadata, now))

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        path = self._path(request)
        with self._lock:
            self._files.unlink(path)


# --------------------------------------------------------------------------- 5. expiry

_MISSING = object()

#: mongod's TTL monitor wakes up this often.
_TTL_MONITOR_SECONDS = 60.0


class _UpdateResult(NamedTuple):
    matched_count: int
    modified_count: int


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches(document: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """MongoDB's query semantics for the operators used here: ``$or``, ``$gt`` and ``$lte``
    compare numbers with numbers only (type bracketing: ``null`` or a missing field never
    matches a comparison with a number), and ``{field: None}`` matches ``null`` or missing."""
    for field, condition in query.items():
        if field == "$or":
            if not any(_matches(document, branch) for branch in condition):
                return False
            continue
        value = document.get(field, _MISSING)
        if isinstance(condition, dict) and condition and all(op[0] == "$" for op in condition):
            for op, operand in condition.items():
                if not _is_number(value):
                    return False
                if op == "$gt" and not value > operand:
                    return False
                if op == "$lte" and not value <= operand:
                    return False
        elif condition is None:
            if value is not _MISSING and value is not None:
                return False
        elif value != condition:
            return False
    return True


class _MongoCollection:
    """A pymongo ``Collection`` as far as used here, in process: documents by ``_id``;
    ``find_one``, ``replace_one(upsert=True)``, ``update_one`` (``$set``, ``$unset``) and
    ``delete_one`` on an ``_id`` filter plus the operators of :func:`_matches`; each command
    runs alone and reads return copies. A TTL index on ``expire_at``: mongod's TTL monitor
    wakes every 60 seconds (of the injected clock) and deletes documents whose ``expire_at``
    has passed; documents without the field are never deleted."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._documents: dict[str, dict[str, Any]] = {}
        self._ttl_index: list[tuple[float, str]] = []
        self._monitor_at = -math.inf
        self._lock = threading.Lock()

    @staticmethod
    def _slot(query: Mapping[str, Any]) -> str:
        return json.dumps(query["_id"], sort_keys=True)

    def _run_ttl_monitor(self) -> None:
        now = self._clock()
        if now < self._monitor_at:
            return
        self._monitor_at = now + _TTL_MONITOR_SECONDS
        while self._ttl_index and self._ttl_index[0][0] <= now:
            _, slot = heapq.heappop(self._ttl_index)
            document = self._documents.get(slot)
            expire_at = None if document is None else document.get("expire_at")
            if expire_at is not None and expire_at <= now:
                del self._documents[slot]

    def _index(self, slot: str, document: Mapping[str, Any]) -> None:
        if document.get("expire_at") is not None:
            heapq.heappush(self._ttl_index, (document["expire_at"], slot))

    def find_one(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            self._run_ttl_monitor()
            document = self._documents.get(self._slot(query))
            if document is None or not _matches(document, query):
                return None
            copied: dict[str, Any] = json.loads(json.dumps(document))
            return copied

    def replace_one(self, query: Mapping[str, Any], replacement: Mapping[str, Any]) -> None:
        """``replace_one(query, replacement, upsert=True)`` on an ``_id``-only filter."""
        with self._lock:
            self._run_ttl_monitor()
            slot = self._slot(query)
            document = json.loads(json.dumps({**replacement, "_id": query["_id"]}))
            self._documents[slot] = document
            self._index(slot, document)

    def update_one(self, query: Mapping[str, Any], update: Mapping[str, Any]) -> _UpdateResult:
        with self._lock:
            self._run_ttl_monitor()
            slot = self._slot(query)
            document = self._documents.get(slot)
            if document is None or not _matches(document, query):
                return _UpdateResult(0, 0)
            document.update(json.loads(json.dumps(update.get("$set", {}))))
            for field in update.get("$unset", {}):
                document.pop(field, None)
            self._index(slot, document)
            return _UpdateResult(1, 1)

    def delete_one(self, query: Mapping[str, Any]) -> None:
        with self._lock:
            self._run_ttl_monitor()
            self._documents.pop(self._slot(query), None)


class MongoNullDeadlineManager:
    """One MongoDB document per slot through pymongo, ``{_id: {conversation_id, memory_type},
    items, metadata, expires_at, expire_at}``: the exact deadline in ``expires_at`` (``null``
    when ``ttl=None``), checked by every query, and ``expire_at``, a date a second past it, for
    a TTL index that lets mongod delete dead documents itself; every operation one command
    (``replace_one(upsert=True)``, ``find_one``, ``update_one``, ``delete_one``), so it is
    atomic without a client lock. ``retrieve`` filters on ``{"$or": [{"expires_at": None},
    {"expires_at": {"$gt": now}}]}``. Bug: ``update`` filters on ``{"expires_at": {"$gt":
    now}}`` alone, and in MongoDB ``$gt`` never matches ``null``: with ``ttl=None`` no slot is
    ever live for ``update``, so every update silently leaves the old items (they are still
    returned, and still deleted by ``delete``)."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-TTL-007", "MM-UPD-002")
    RACE: ClassVar[bool] = False

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._collection = _MongoCollection(self._clock)

    @staticmethod
    def _id(request: IMemoryInput) -> dict[str, str]:
        return {
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type.value,
        }

    def _lifetime_fields(self, now: float) -> tuple[dict[str, Any], dict[str, str]]:
        """(``$set``, ``$unset``) for the deadline of a write at ``now``."""
        if self.ttl is None:
            return {"expires_at": None}, {"expire_at": ""}
        deadline = now + self.ttl
        return {"expires_at": deadline, "expire_at": float(math.ceil(deadline) + 1)}, {}

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        fields, _ = self._lifetime_fields(self._clock())
        document = {"items": list(texts), "metadata": metadata, **fields}
        self._collection.replace_one({"_id": self._id(request)}, document)
        return f"working_memory/{request.memory_type.value}/{request.conversation_id}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        live = [{"expires_at": None}, {"expires_at": {"$gt": self._clock()}}]
        document = self._collection.find_one({"_id": self._id(request), "$or": live})
        return [] if document is None else _items(document["items"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        now = self._clock()
        fields, unset = self._lifetime_fields(now)
        changes: dict[str, Any] = {"items": list(texts), **fields}
        if given is not None:
            changes["metadata"] = given
        update: dict[str, Any] = {"$set": changes}
        if unset:
            update["$unset"] = unset
        self._collection.update_one({"_id": self._id(request), "expires_at": {"$gt": now}}, update)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        self._collection.delete_one({"_id": self._id(request)})


# --------------------------------------------------------------------------- 6. threads

_SLOT_TABLE = """
CREATE TABLE IF NOT EXISTS memory_slot (
    conversation_id TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    items TEXT NOT NULL,
    metadata TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (conversation_id, memory_type)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_slot_expiry
    ON memory_slot (expires_at) WHERE expires_at IS NOT NULL;
"""


@contextmanager
def _sqlite_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on an autocommit connection; rolled back if anything raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class ThreadLocalSqliteManager:
    """SQLite with one connection per thread (``threading.local``), the usual answer to "SQLite
    objects created in a thread can only be used in that same thread": each thread connects to
    ``path`` on first use and creates the table if needed; one row per slot (items and metadata
    as JSON, the deadline as a REAL compared in SQL), each write one ``BEGIN IMMEDIATE``
    transaction with a purge of up to 16 expired rows through an index. With a file path it is
    correct: every connection opens the same file and SQLite serialises the writers. Bug: the
    default ``path`` is ``":memory:"`` ("zero configuration"), and every connection to
    ``:memory:`` opens a private, empty database (the reason SQLAlchemy's ``SingletonThreadPool``
    exists), so each thread has memory of its own: a slot written from one thread is missing
    from every other, a delete from another thread does not delete it, and an update from the
    writing thread brings it back after that delete."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-CONC-002", "MM-CONC-003")
    RACE: ClassVar[bool] = True

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        path: str = ":memory:",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            db.executescript(_SLOT_TABLE)
            self._local.db = db
        return db

    @contextmanager
    def _sqlite(self, operation: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise MemoryBackendError(f"{operation} of a working-memory slot failed: {exc}") from exc

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = json.dumps(list(_texts(request, "store")))
        metadata = json.dumps(copy_metadata(request.metadata) or {})
        with self._sqlite("store"):
            db = self._db()
            with _sqlite_transaction(db):
                now = self._clock()
                db.execute(
                    "DELETE FROM memory_slot WHERE (conversation_id, memory_type) IN ("
                    "SELECT conversation_id, memory_type FROM memory_slot "
                    "WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
                    (now, _PURGE_BATCH),
                )
                db.execute(
                    "INSERT INTO memory_slot VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (conversation_id, memory_type) DO UPDATE SET "
                    "items = excluded.items, metadata = excluded.metadata, "
                    "expires_at = excluded.expires_at",
                    (
                        request.conversation_id,
                        request.memory_type.value,
                        texts,
                        metadata,
                        _expires_at(self.ttl, now),
                    ),
                )
        return f"memory_slot/{request.memory_type.value}/{request.conversation_id}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._sqlite("retrieve"):
            row = (
                self._db()
                .execute(
                    "SELECT items FROM memory_slot WHERE conversation_id = ? AND memory_type = ? "
                    "AND (expires_at IS NULL OR expires_at > ?)",
                    (request.conversation_id, request.memory_type.value, self._clock()),
                )
                .fetchone()
            )
        return [] if row is None else _items(json.loads(row[0]))

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = json.dumps(list(_texts(request, "update")))
        given = copy_metadata(request.metadata)
        with self._sqlite("update"):
            db = self._db()
            with _sqlite_transaction(db):
                now = self._clock()
                db.execute(
                    "UPDATE memory_slot SET items = ?, metadata = coalesce(?, metadata), "
                    "expires_at = ? WHERE conversation_id = ? AND memory_type = ? "
                    "AND (expires_at IS NULL OR expires_at > ?)",
                    (
                        texts,
                        None if given is None else json.dumps(given),
                        _expires_at(self.ttl, now),
                        request.conversation_id,
                        request.memory_type.value,
                        now,
                    ),
                )

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._sqlite("delete"):
            self._db().execute(
                "DELETE FROM memory_slot WHERE conversation_id = ? AND memory_type = ?",
                (request.conversation_id, request.memory_type.value),
            )


# --------------------------------------------------------------------------- 7. isolation

_UPDATE_SCRIPT_SHA = hashlib.sha1(b"working-memory update, keeping metadata").hexdigest()


class _RedisError(Exception):
    """``redis.exceptions.RedisError``."""


class _RedisServer:
    """One Redis server, in process: string keys with absolute deadlines on the injected clock
    (``SET key value PXAT t``, or no expiry), ``GET``, ``DEL``, and the update script (a
    one-key ``EVALSHA``: if the key is live, replace the record's items, and its metadata when
    given, and its deadline). Each command runs alone."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[str, tuple[str, float]] = {}

    def _live(self, key: str) -> str | None:
        entry = self._keys.get(key)
        if entry is None:
            return None
        if self._clock() >= entry[1]:
            del self._keys[key]
            return None
        return entry[0]

    def execute(self, args: tuple[Any, ...]) -> Any:
        command, key = args[0], args[1]
        if command == "SET":
            deadline = math.inf if args[3] is None else args[3]
            self._keys[key] = (args[2], deadline)
            return "OK"
        if command == "GET":
            return self._live(key)
        if command == "DEL":
            found = self._live(key) is not None
            self._keys.pop(key, None)
            return int(found)
        if command == "EVALSHA" and args[2] == _UPDATE_SCRIPT_SHA:
            current = self._live(key)
            if current is None:
                return 0
            record = json.loads(current)
            record["items"] = json.loads(args[3])
            if args[4]:
                record["metadata"] = json.loads(args[4])
            deadline = math.inf if args[5] is None else args[5]
            self._keys[key] = (json.dumps(record), deadline)
            return 1
        raise _RedisError(f"ERR unknown command '{command}'")


class _AsyncConnection:
    """One connection to the server: a command crosses the network in one event-loop turn and
    runs on arrival, its reply joins the connection's receive buffer, and reading takes the
    oldest reply there after one more turn."""

    def __init__(self, server: _RedisServer) -> None:
        self._server = server
        self._replies: deque[Any] = deque()

    async def send_command(self, *args: Any) -> None:
        await asyncio.sleep(0)
        try:
            reply: Any = self._server.execute(args)
        except _RedisError as exc:
            reply = exc
        self._replies.append(reply)

    async def read_response(self) -> Any:
        await asyncio.sleep(0)
        reply = self._replies.popleft()
        if isinstance(reply, _RedisError):
            raise reply
        return reply


class _AsyncRedis:
    """``redis.asyncio.Redis`` from 4.2 through 4.5.3 as far as used here, with
    ``decode_responses=True``: a pool of connections (the last one given back is the next one
    taken) and ``execute_command``, which takes a connection, sends, reads the reply and gives
    the connection back in a ``finally``, also when the task was cancelled after sending and
    before reading (redis-py #2624 and #2665, CVE-2023-28858 and CVE-2023-28859)."""

    def __init__(self, server: _RedisServer) -> None:
        self._server = server
        self._available: list[_AsyncConnection] = []

    async def execute_command(self, *args: Any) -> Any:
        connection = self._available.pop() if self._available else _AsyncConnection(self._server)
        try:
            await connection.send_command(*args)
            return await connection.read_response()
        finally:
            self._available.append(connection)


class AsyncRedisCancelledReplyManager:
    """An asyncio manager on ``redis.asyncio`` with the usual Redis layout: one JSON record per
    slot, ``{"items": [...], "metadata": {...}}``, under ``memory:{memory_type}:{id}``; store is
    ``SET ... PXAT``, update a one-key script that never creates and keeps the metadata unless
    given, retrieve ``GET``, delete ``DEL``: one command each, so tasks interleave only between
    whole operations. The server is simulated in process. Bug: the client is a redis-py release
    before 4.5.4/4.4.4 (pinned "for stability"), whose async ``execute_command`` returns a
    connection to the pool with its reply still unread when the awaiting task is cancelled
    between sending and reading, as ``asyncio.wait_for`` around a memory call or a client
    disconnect does: the next command on that connection reads the previous command's reply,
    and every later one on it stays one reply behind. A ``retrieve`` then returns the items of
    whatever slot that connection read last, another conversation's included: the bug behind
    ChatGPT's March 2023 outage, where users saw other users' conversation titles."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-ASYNC-002",
        "MM-ISO-001",
        "MM-RETR-001",
        "MM-RETR-002",
    )
    RACE: ClassVar[bool] = True

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._redis = _AsyncRedis(_RedisServer(self._clock))

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    def _deadline(self) -> float | None:
        return _expires_at(self.ttl, self._clock())

    async def _command(self, operation: str, *args: Any) -> Any:
        try:
            return await self._redis.execute_command(*args)
        except _RedisError as exc:
            raise MemoryBackendError(f"{operation} of a working-memory slot failed: {exc}") from exc

    @staticmethod
    def _decode(key: str, raw: Any) -> list[str]:
        try:
            items = json.loads(raw)["items"]
        except (TypeError, ValueError, KeyError) as exc:
            raise MemoryBackendError(f"the value of {key!r} is not a memory record") from exc
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise MemoryBackendError(f"the value of {key!r} is not a memory record")
        return items

    async def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        value = json.dumps({"items": list(texts), "metadata": metadata})
        await self._command("store", "SET", key, value, self._deadline())
        return key

    async def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        key = self._key(request)
        raw = await self._command("retrieve", "GET", key)
        return [] if raw is None else _items(self._decode(key, raw))

    async def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        metadata = "" if given is None else json.dumps(given)
        await self._command(
            "update",
            "EVALSHA",
            self._key(request),
            _UPDATE_SCRIPT_SHA,
            json.dumps(list(texts)),
            metadata,
            self._deadline(),
        )

    async def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        await self._command("delete", "DEL", self._key(request))


# --------------------------------------------------------------------------- 8. failure atomicity


@dataclasses.dataclass
class _Entry:
    """A slot's record; never changed once written."""

    key: str
    texts: tuple[str, ...]
    metadata: dict[str, Any]
    expires_at: float


class HeapTieScheduleManager:
    """A dict of records under one lock with a ``heapq`` schedule of expiries, the priority
    queue of hand-rolled TTL caches: each write stores its record, then pushes ``(deadline,
    entry)`` on the heap, then pops up to 16 entries whose deadline has passed, removing a slot
    only if the popped entry is still its record. Reads check the deadline themselves;
    ``ttl=None`` schedules nothing. Bug: the heap compares ``(deadline, entry)`` tuples, and
    when two deadlines are equal it compares the entries, a dataclass with no ordering: the
    ``TypeError`` that the ``heapq`` documentation warns of ("tuple comparison breaks for
    (priority, task) pairs if the priorities are equal"). With ``time.monotonic`` on Linux two
    writes practically never share a deadline, so it shipped; with a coarse clock (Windows'
    15.6 ms timer tick) or an injected one that stands still, a store or update that ties with
    a scheduled deadline raises ``TypeError`` after its record was written: the call fails, yet
    the slot has changed."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-CONC-001", "MM-ERR-003")
    RACE: ClassVar[bool] = False

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._lifetime = _lifetime(self.ttl)
        self._entries: dict[str, _Entry] = {}
        self._schedule: list[tuple[float, _Entry]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _key(request: IMemoryInput) -> str:
        return f"memory:{request.memory_type.value}:{request.conversation_id}"

    def _write(self, entry: _Entry, now: float) -> None:
        self._entries[entry.key] = entry
        if self.ttl is None:
            return
        heapq.heappush(self._schedule, (entry.expires_at, entry))
        for _ in range(_PURGE_BATCH):
            if not self._schedule or self._schedule[0][0] > now:
                break
            _, expired = heapq.heappop(self._schedule)
            if self._entries.get(expired.key) is expired:
                del self._entries[expired.key]

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        return entry if entry is not None and now < entry.expires_at else None

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        key = self._key(request)
        with self._lock:
            now = self._clock()
            self._write(_Entry(key, texts, metadata, now + self._lifetime), now)
        return key

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            entry = self._live(self._key(request), self._clock())
        return [] if entry is None else _items(entry.texts)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        key = self._key(request)
        with self._lock:
            now = self._clock()
            current = self._live(key, now)
            if current is None:
                return
            metadata = current.metadata if given is None else given
            self._write(_Entry(key, texts, metadata, now + self._lifetime), now)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._entries.pop(self._key(request), None)


# --------------------------------------------------------------------------- 9. deletion

_CONVERSATION_TABLES = """
CREATE TABLE conversation (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    expires_at REAL,
    UNIQUE (conversation_id, memory_type)
);
CREATE INDEX conversation_expiry ON conversation (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE message (
    id INTEGER PRIMARY KEY,
    conversation_ref INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    content TEXT NOT NULL
);
CREATE INDEX message_conversation ON message (conversation_ref, id);
"""


class SqliteForeignKeysOffManager:
    """The ORM-style chat schema on sqlite3 (a ``conversation`` row per slot with its metadata
    and deadline, a ``message`` row per item pointing at it with ``REFERENCES conversation (id)
    ON DELETE CASCADE``, as SQLAlchemy models of LangChain-style message stores declare it), one
    connection under a lock, every write one transaction: ``store`` updates the slot's row and
    replaces its messages, or inserts a new row and its messages; ``update`` does the same for a
    live row only; ``delete`` and the purge of expired rows (up to 16 per store) delete the
    ``conversation`` row and let the cascade remove its messages. Bug: SQLite enforces foreign
    keys only after ``PRAGMA foreign_keys = ON`` on each connection, which the code never runs,
    so a deleted or purged slot's messages stay behind, still pointing at its row id; and
    ``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT`` hands out max(id) + 1, so when the row
    removed was the newest, the next new slot gets its id and inherits the orphans: after
    ``store``, ``retrieve`` returns the deleted (or expired) memory, the same slot's or another
    conversation's or memory type's, followed by the new items."""

    BREAKS: ClassVar[tuple[str, ...]] = (
        "MM-DEL-001",
        "MM-ISO-001",
        "MM-ISO-002",
        "MM-RETR-001",
        "MM-STORE-002",
        "MM-STORE-003",
        "MM-TTL-003",
    )
    RACE: ClassVar[bool] = False

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.executescript(_CONVERSATION_TABLES)
        self._lock = threading.Lock()

    @contextmanager
    def _write(self, operation: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with _sqlite_transaction(self._db):
                    yield self._db
            except sqlite3.Error as exc:
                raise MemoryBackendError(
                    f"{operation} of a working-memory slot failed: {exc}"
                ) from exc

    def _add_messages(self, db: sqlite3.Connection, ref: int, texts: tuple[str, ...]) -> None:
        db.executemany(
            "INSERT INTO message (conversation_ref, content) VALUES (?, ?)",
            [(ref, text) for text in texts],
        )

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = json.dumps(copy_metadata(request.metadata) or {})
        slot = (request.conversation_id, request.memory_type.value)
        with self._write("store") as db:
            now = self._clock()
            db.execute(
                "DELETE FROM conversation WHERE id IN (SELECT id FROM conversation "
                "WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
                (now, _PURGE_BATCH),
            )
            deadline = _expires_at(self.ttl, now)
            row = db.execute(
                "SELECT id FROM conversation WHERE conversation_id = ? AND memory_type = ?", slot
            ).fetchone()
            if row is None:
                ref = db.execute(
                    "INSERT INTO conversation (conversation_id, memory_type, metadata, "
                    "expires_at) VALUES (?, ?, ?, ?)",
                    (*slot, metadata, deadline),
                ).lastrowid
                assert ref is not None
            else:
                ref = int(row[0])
                db.execute(
                    "UPDATE conversation SET metadata = ?, expires_at = ? WHERE id = ?",
                    (metadata, deadline, ref),
                )
                db.execute("DELETE FROM message WHERE conversation_ref = ?", (ref,))
            self._add_messages(db, ref, texts)
        return f"conversation/{request.memory_type.value}/{request.conversation_id}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT m.content FROM conversation AS c JOIN message AS m "
                    "ON m.conversation_ref = c.id WHERE c.conversation_id = ? "
                    "AND c.memory_type = ? AND (c.expires_at IS NULL OR c.expires_at > ?) "
                    "ORDER BY m.id",
                    (request.conversation_id, request.memory_type.value, self._clock()),
                ).fetchall()
            except sqlite3.Error as exc:
                raise MemoryBackendError(
                    f"retrieve of a working-memory slot failed: {exc}"
                ) from exc
        return _items(str(content) for (content,) in rows)

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        with self._write("update") as db:
            now = self._clock()
            row = db.execute(
                "SELECT id, metadata FROM conversation WHERE conversation_id = ? "
                "AND memory_type = ? AND (expires_at IS NULL OR expires_at > ?)",
                (request.conversation_id, request.memory_type.value, now),
            ).fetchone()
            if row is None:
                return
            ref = int(row[0])
            metadata = str(row[1]) if given is None else json.dumps(given)
            db.execute(
                "UPDATE conversation SET metadata = ?, expires_at = ? WHERE id = ?",
                (metadata, _expires_at(self.ttl, now), ref),
            )
            db.execute("DELETE FROM message WHERE conversation_ref = ?", (ref,))
            self._add_messages(db, ref, texts)

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._write("delete") as db:
            db.execute(
                "DELETE FROM conversation WHERE conversation_id = ? AND memory_type = ?",
                (request.conversation_id, request.memory_type.value),
            )


# --------------------------------------------------------------------------- 10. metadata

_ES_TOTAL_FIELDS_LIMIT = 1000
_ES_DEPTH_LIMIT = 20
_ES_LONG_RANGE = 2**63
#: The default ``dynamic_date_formats``: ``strict_date_optional_time`` and ``yyyy/MM/dd``.
_ES_DATE = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?"
    r"|\d{4}/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])( ([01]\d|2[0-3]):[0-5]\d:[0-5]\d)?"
    r"( ?(Z|[+-]\d{4}))?"
)
_ES_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

#: The index's explicit mapping: the manager's own fields are stored, not indexed; ``metadata``
#: is left to dynamic mapping, the default.
_ES_MAPPED = {
    "conversation_id": "keyword",
    "memory_type": "keyword",
    "items": "text",
    "expires_at": "double",
    "metadata": "object",
}


class _BadRequestError(Exception):
    """``elasticsearch.BadRequestError``: the request was refused with status 400."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(f"BadRequestError(400, '{error}', '{reason}')")


def _es_accepts(field_type: str, value: Any) -> bool:
    """Whether a field of ``field_type`` takes ``value`` (with Elasticsearch's coercion)."""
    if field_type in ("text", "keyword"):
        return True
    if field_type in ("long", "float"):
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return field_type == "float" or -_ES_LONG_RANGE <= value < _ES_LONG_RANGE
        if isinstance(value, float):
            return math.isfinite(value)
        return bool(_ES_NUMBER.fullmatch(value))
    if field_type == "boolean":
        return isinstance(value, bool) or value in ("true", "false", "")
    if field_type == "date":
        if isinstance(value, str):
            return bool(_ES_DATE.fullmatch(value))
        return not isinstance(value, bool)
    return False


def _es_type(value: Any) -> str:
    """The type dynamic mapping gives a field first seen with ``value``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "float"
    return "date" if _ES_DATE.fullmatch(value) else "text"


class _ElasticsearchIndex:
    """One Elasticsearch index as the Python client sees it, in process: ``index`` (create or
    replace a document by id), ``get`` (real time, no refresh needed) and ``delete``. Under
    ``metadata`` the index maps fields dynamically, as Elasticsearch does by default: the first
    value a field ever receives fixes its type (strings that look like dates become ``date``,
    others ``text`` with a ``keyword`` sub-field, integers ``long``, other numbers ``float``),
    every later value, in any document, must fit that type, and every value of an array must fit
    one type; field names may not be empty or blank, a dot in a name makes a path of objects,
    and an index holds at most 1,000 fields, 20 levels deep. A document that breaks a rule is
    refused whole (``mapper_parsing_exception`` or ``illegal_argument_exception``)."""

    def __init__(self) -> None:
        self._documents: dict[str, str] = {}
        self._fields: dict[str, str] = dict(_ES_MAPPED)
        self._lock = threading.Lock()

    def _map(self, path: str, value: Any, found: dict[str, str]) -> None:
        if value is None:
            return
        if isinstance(value, list):
            for element in value:
                self._map(path, element, found)
            return
        known = found.get(path) or self._fields.get(path)
        if isinstance(value, dict):
            if known is None:
                if path.count(".") + 1 > _ES_DEPTH_LIMIT:
                    raise _BadRequestError(
                        "illegal_argument_exception",
                        f"Limit of mapping depth [{_ES_DEPTH_LIMIT}] has been exceeded due to "
                        f"object field [{path}]",
                    )
                found[path] = known = "object"
            if known != "object":
                raise _BadRequestError(
                    "document_parsing_exception",
                    f"failed to parse field [{path}] of type [{known}] in document",
                )
            for name, item in value.items():
                if not name:
                    raise _BadRequestError(
                        "document_parsing_exception",
                        f"field name cannot be an empty string: [{path}.]",
                    )
                if not name.strip():
                    raise _BadRequestError(
                        "document_parsing_exception",
                        f"Field name cannot contain only whitespace: [{path}.{name}]",
                    )
                if "" in name.split("."):
                    raise _BadRequestError(
                        "illegal_argument_exception",
                        f"object field starting or ending with a [.] makes object resolution "
                        f"ambiguous: [{name}]",
                    )
                *parents, leaf = name.split(".")
                nested: Any = item
                for parent in reversed([*parents[1:], leaf]):
                    nested = {parent: nested}
                if parents:
                    self._map(f"{path}.{parents[0]}", nested, found)
                else:
                    self._map(f"{path}.{leaf}", item, found)
            return
        if known == "object":
            raise _BadRequestError(
                "document_parsing_exception",
                f"object mapping for [{path}] tried to parse field [{path.rsplit('.', 1)[-1]}] "
                "as object, but found a concrete value",
            )
        if known is None:
            found[path] = known = _es_type(value)
            if known == "text":
                found[f"{path}.keyword"] = "keyword"
        if not _es_accepts(known, value):
            raise _BadRequestError(
                "document_parsing_exception",
                f"failed to parse field [{path}] of type [{known}] in document",
            )

    def index(self, document_id: str, document: Mapping[str, Any]) -> None:
        with self._lock:
            found: dict[str, str] = {}
            self._map("metadata", document["metadata"], found)
            if len(self._fields) + len(found) > _ES_TOTAL_FIELDS_LIMIT:
                raise _BadRequestError(
                    "illegal_argument_exception",
                    f"Limit of total fields [{_ES_TOTAL_FIELDS_LIMIT}] has been exceeded "
                    f"while adding new fields [{len(found)}]",
                )
            self._fields.update(found)
            self._documents[document_id] = json.dumps(document)

    def get(self, document_id: str) -> dict[str, Any] | None:
        with self._lock:
            raw = self._documents.get(document_id)
        if raw is None:
            return None
        source: dict[str, Any] = json.loads(raw)
        return source

    def delete(self, document_id: str) -> None:
        with self._lock:
            self._documents.pop(document_id, None)


class ElasticsearchDynamicMappingManager:
    """One Elasticsearch document per slot, ``_id`` a SHA-256 of the slot (``_id`` is limited to
    512 bytes), holding the conversation ID and memory type (checked on read), the items, the
    metadata and the exact deadline, with an explicit mapping for the manager's own fields
    (stored, not indexed) and ``metadata`` left to dynamic mapping, as LangChain's
    ``ElasticsearchStore`` leaves metadata; ``get`` by id is real time; writes are serialised by
    one lock (update reads, then indexes). The index is simulated in process. Bug: dynamic
    mapping types every metadata field by the first value it ever receives, in any document,
    and refuses the rest: once one conversation stored ``{"user": "bob"}`` another's
    ``{"user": {"id": 7}}`` is refused, as are ``{"n": 1}`` then ``{"n": "x"}``, a date-looking
    string then another string, an array of a number then a string (``[1, "x"]``), an empty,
    blank or dotted-edge key (``""``, ``" "``, ``"a."``), and new keys past the index's 1,000 fields
    (huridocs/uwazi#3306: "object mapping for [metadata.type_de_document] tried to parse field
    ... as object, but found a concrete value"): valid JSON metadata makes ``store`` and
    ``update`` fail with ``MemoryBackendError``, and the write does not happen."""

    BREAKS: ClassVar[tuple[str, ...]] = ("MM-META-001", "MM-META-003")
    RACE: ClassVar[bool] = False

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        index: str = "working-memory",
    ) -> None:
        self.ttl = validate_ttl(ttl)
        self._clock = validate_clock(clock)
        self.index = index
        self._es = _ElasticsearchIndex()
        self._lock = threading.Lock()

    @staticmethod
    def _document_id(request: IMemoryInput) -> str:
        return _digest(request).hex()

    def _document(
        self, request: IMemoryInput, texts: tuple[str, ...], metadata: Any, now: float
    ) -> dict[str, Any]:
        return {
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type.value,
            "items": list(texts),
            "metadata": metadata,
            "expires_at": _expires_at(self.ttl, now),
        }

    def _live(self, request: IMemoryInput, now: float) -> dict[str, Any] | None:
        source = self._es.get(self._document_id(request))
        if (
            source is None
            or source["conversation_id"] != request.conversation_id
            or source["memory_type"] != request.memory_type.value
            or not _is_live(source["expires_at"], now)
        ):
            return None
        return source

    def _index(self, operation: str, request: IMemoryInput, document: dict[str, Any]) -> None:
        try:
            self._es.index(self._document_id(request), document)
        except _BadRequestError as exc:
            raise MemoryBackendError(
                f"{operation} of a working-memory slot in {self.index!r} failed: {exc}"
            ) from exc

    def store(self, input: Any) -> str:
        request = as_memory_input(input)
        texts = _texts(request, "store")
        metadata = copy_metadata(request.metadata) or {}
        with self._lock:
            self._index("store", request, self._document(request, texts, metadata, self._clock()))
        return f"{self.index}/_doc/{self._document_id(request)}"

    def retrieve(self, input: Any) -> list[IWorkingMemory]:
        request = as_memory_input(input)
        source = self._live(request, self._clock())
        return [] if source is None else _items(source["items"])

    def update(self, input: Any) -> None:
        request = as_memory_input(input)
        texts = _texts(request, "update")
        given = copy_metadata(request.metadata)
        with self._lock:
            now = self._clock()
            source = self._live(request, now)
            if source is None:
                return
            metadata = source["metadata"] if given is None else given
            self._index("update", request, self._document(request, texts, metadata, now))

    def delete(self, input: Any) -> None:
        request = as_memory_input(input)
        with self._lock:
            self._es.delete(self._document_id(request))


HELDOUT4: tuple[type[Any], ...] = (
    UnencodedPathParamManager,
    CassandraKeyBytesManager,
    LmdbDefaultMapSizeManager,
    JsonlSplitlinesManager,
    MongoNullDeadlineManager,
    ThreadLocalSqliteManager,
    AsyncRedisCancelledReplyManager,
    HeapTieScheduleManager,
    SqliteForeignKeysOffManager,
    ElasticsearchDynamicMappingManager,
)
