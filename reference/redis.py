"""Memory managers on Redis and Redis Cluster, sync and async (install with the ``redis`` extra).

Key layout: ``{namespace}:wm:{memory_type}:{conversation_id}``, one plain string key per
slot, so every operation touches a single key (one hash slot) and works on Redis Cluster. The
memory type never contains ``:``, so the key is unique per slot whatever the conversation ID
holds. The value is a :class:`~memspec.StoredRecord` as JSON; expiry is Redis's own, in
milliseconds.

One round trip per operation: store is ``SET key value PX ttl``, update is ``SET key value XX
PX ttl`` (never creates, restarts the lifetime; when the update gives no metadata, a
one-key script keeps the stored metadata), retrieve is ``GET``, delete is ``DEL``.

Connections come from a bounded pool that callers wait on (:class:`ConnectionSettings`):
any number of threads or tasks share one manager, each waiting at most ``pool_timeout`` for a
connection (tasks in the order they asked). A call is retried only after a connection error
(a pooled connection the server closed, say after a restart), never after a timeout, so a
write is sent twice only when the first attempt cannot have reached the server whole.
Failures raise :class:`~memspec.MemoryBackendError`, whose outcome is indeterminate
(``MM-ERR-002``); nothing is ever turned into an empty result. Credentials never appear in
``repr``, log records or error messages (:mod:`memspec.reference.redaction`).
"""

from __future__ import annotations

import asyncio
import json
import math
import numbers
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
from memspec.errors import MemoryBackendError
from memspec.models import (
    STORED_RECORD_FORMAT,
    IMemoryInput,
    IWorkingMemory,
    StoredRecord,
    as_memory_input,
    copy_metadata,
    require_data,
)
from memspec.reference.faults import LoopbackProxy, proxy_outage
from memspec.reference.redaction import redact_url, scrub, url_secrets
from memspec.ttl import DEFAULT_TTL, validate_ttl
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisClusterException
from redis.retry import Retry

__all__ = [
    "DEFAULT_URL",
    "AsyncRedisWorkingMemoryManager",
    "ConnectionSettings",
    "RedisWorkingMemoryManager",
    "isolated_async_redis_manager",
    "isolated_redis_manager",
    "redact",
]

#: Used when neither ``storage_url`` nor the ``REDIS_URL`` environment variable is set.
DEFAULT_URL = "redis://localhost:6379/0"

#: The one shared redaction helper, under the name this module has always exported.
redact = redact_url

# Keeps the stored metadata when an update gives none: the client sends the new record
# without its metadata (ARGV[1] ends just before it) and the script appends the old record's
# metadata member. Our records put "metadata" last, and the first ',"metadata":' in one is
# that member: every string before it is JSON-escaped, so cannot contain the bare quotes.
_UPDATE_KEEPING_METADATA = """
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
local at = string.find(old, ',"metadata":', 1, true)
local tail = at and string.sub(old, at) or ',"metadata":{}}'
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1] .. tail, 'XX')
else
  redis.call('SET', KEYS[1], ARGV[1] .. tail, 'XX', 'PX', ARGV[2])
end
return 1
"""

#: Keys one ``DEL`` of ``clear_namespace`` removes: a certification run's namespace can hold
#: over 100,000 keys, which one round trip each would take longer to clear than to write.
_CLEAR_BATCH = 500

# What a failing call may raise from redis-py: its own errors, and the cluster client's
# topology errors, which do not derive from RedisError.
_REDIS_FAILURES = (redis.RedisError, RedisClusterException)


def _positive(name: str, value: object, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not zero):
        raise ValueError(
            f"{name} must be a finite {'non-negative' if zero else 'positive'} "
            f"number of seconds, got {value!r}"
        )
    return seconds


def _count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class ConnectionSettings:
    """How a Redis manager talks to the server, and the longest a call can take.

    ``socket_timeout`` bounds each wait for a reply, ``connect_timeout`` (by default the
    socket timeout) each connection attempt. ``retries`` is how many times a call is
    repeated after a *connection* error
    (refused, reset, closed by a restarted server), waiting ``backoff_base * 2**n`` seconds,
    at most ``backoff_cap``, before each repeat; a timeout is never retried, since the server
    may have acted on the request. ``max_connections`` bounds the connections (on a cluster:
    the calls in flight) of one manager; a caller waits up to ``pool_timeout`` for one, then
    gets :class:`~memspec.MemoryBackendError`. On a cluster, ``retries`` is also how many times
    a call is repeated on a timeout or a moved slot after a topology refresh (redis-py's
    cluster client recovers from a failover that way), without back-off.
    """

    socket_timeout: float = 5.0
    connect_timeout: float | None = None
    retries: int = 1
    backoff_base: float = 0.01
    backoff_cap: float = 0.1
    max_connections: int = 50
    pool_timeout: float = 5.0

    def __post_init__(self) -> None:
        _positive("socket_timeout", self.socket_timeout)
        _positive("connect_timeout", self.connect_seconds)
        _count("retries", self.retries, 0)
        _positive("backoff_base", self.backoff_base, zero=True)
        _positive("backoff_cap", self.backoff_cap, zero=True)
        _count("max_connections", self.max_connections, 1)
        _positive("pool_timeout", self.pool_timeout, zero=True)

    @property
    def connect_seconds(self) -> float:
        """The bound on each connection attempt: ``connect_timeout``, else the socket's."""
        return self.socket_timeout if self.connect_timeout is None else self.connect_timeout

    @property
    def backoff_sleeps(self) -> int:
        """The most back-off sleeps one call can take on a single server: redis-py repeats
        the connection set-up on taking a pooled connection (``retries`` sleeps), the command
        (``retries``), and the set-up again inside each of its ``retries + 1`` attempts."""
        return self.retries * (self.retries + 3)

    @property
    def worst_case_seconds(self) -> float:
        """The longest a call on a single server can take before it returns or raises:
        the pool wait, one timeout (a timeout ends the call), and every back-off sleep.
        With the defaults: 5 + 5 + 4 x 0.1 = 10.4 s."""
        return (
            self.pool_timeout
            + max(self.socket_timeout, self.connect_seconds)
            + self.backoff_sleeps * self.backoff_cap
        )

    def backoff(self) -> ExponentialBackoff:
        """The back-off between retries, shared by the sync and async clients."""
        return ExponentialBackoff(cap=self.backoff_cap, base=self.backoff_base)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for every client: timeouts, no health-check round trips."""
        return {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.connect_seconds,
            "health_check_interval": 0,
        }


def _resolve_url(storage_url: str | None) -> str:
    return storage_url or os.environ.get("REDIS_URL") or DEFAULT_URL


def _check_namespace(namespace: object) -> str:
    if not isinstance(namespace, str) or not namespace:
        raise ValueError(f"namespace must be a non-empty string, not {namespace!r}")
    return namespace


def _escape_glob(text: str) -> str:
    """Escape Redis glob metacharacters so that ``text`` matches only itself in SCAN."""
    return "".join("\\" + c if c in "*?[]\\^-" else c for c in text)


class _Codec:
    """What the sync and async managers share: keys, records, expiry and error wrapping."""

    def __init__(self, url: str, namespace: str, ttl: float | None) -> None:
        self.url = url
        self.namespace = namespace
        self.ttl = ttl
        # Redis counts in whole milliseconds; rounding up never expires a slot early.
        self.px = None if ttl is None else max(1, math.ceil(ttl * 1000))

    def key(self, request: IMemoryInput) -> str:
        return f"{self.namespace}:wm:{request.memory_type._value_}:{request.conversation_id}"

    def pattern(self) -> str:
        return f"{_escape_glob(self.namespace)}:wm:*"

    @staticmethod
    def encode(request: IMemoryInput, items: list[IWorkingMemory], metadata: Any) -> str:
        """The record as compact JSON, built directly: the input is validated already, and
        this is the write path. Its shape is the stored-record schema's (a test checks it).
        Non-JSON metadata raises ``TypeError`` here, before anything is sent."""
        record = {
            "format": STORED_RECORD_FORMAT,
            "conversation_id": request.conversation_id,
            "memory_type": request.memory_type._value_,
            "data": [{"working_memory": item.working_memory} for item in items],
            "metadata": copy_metadata(metadata) or {},
        }
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    def update(self, request: IMemoryInput) -> tuple[str, str, bool]:
        """(key, value, keeps_metadata) for an update: the whole record when the update gives
        metadata, else the record up to its metadata, for the script to complete."""
        items = require_data(request, "update")
        key = self.key(request)
        if request.metadata is not None:
            return key, self.encode(request, items, copy_metadata(request.metadata)), False
        head = self.encode(request, items, None).rsplit(',"metadata":', 1)[0]
        return key, head, True

    def decode(self, key: str, raw: bytes | str | None) -> list[IWorkingMemory]:
        if raw is None:
            return []
        try:
            return list(StoredRecord.model_validate_json(raw).data)
        except ValueError as exc:
            raise MemoryBackendError(
                f"the value of Redis key {key!r} is not a memspec record "
                f"({type(exc).__name__}); it was left untouched"
            ) from exc

    @contextmanager
    def failures(self, operation: str) -> Iterator[None]:
        """Turn redis-py's errors into MemoryBackendError, with every credential scrubbed."""
        try:
            yield
        except _REDIS_FAILURES as exc:
            raise self.failure(operation, exc) from exc

    def failure(self, operation: str, exc: BaseException) -> MemoryBackendError:
        """The MemoryBackendError for redis-py's ``exc`` (chain it with ``from exc``)."""
        return self.error(operation, f"{type(exc).__name__}: {exc}")

    def error(self, operation: str, detail: str) -> MemoryBackendError:
        """A MemoryBackendError for ``operation``, naming the server without credentials."""
        return MemoryBackendError(
            f"{operation} on {redact_url(self.url)} failed: {scrub(detail, self.secrets)}"
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return url_secrets(self.url)

    def repr(self, cls: type, cluster: bool) -> str:
        url = redact_url(self.url)
        where = ", cluster=True" if cluster else ""
        return f"{cls.__name__}(url={url!r}{where}, namespace={self.namespace!r}, ttl={self.ttl!r})"


class _AsyncGate:
    """Per event loop, for an async manager: the bound on calls in flight, a first come,
    first served queue for them, and on a cluster the one-time discovery of its topology."""

    def __init__(self, max_connections: int) -> None:
        self.semaphore = asyncio.Semaphore(max_connections)
        self.lock = asyncio.Lock()
        self.ready = False


class _RedisManager:
    """Construction and settings shared by the sync and async managers."""

    #: Redis expires keys to the millisecond; the suite allows this much slack.
    expiry_precision = 0.005
    _is_async = False

    def __init__(
        self,
        storage_url: str | None = None,
        *,
        client: Any = None,
        ttl: float | None = DEFAULT_TTL,
        namespace: str = "memspec",
        cluster: bool = False,
        socket_timeout: float = 5.0,
        connect_timeout: float | None = None,
        retries: int = 1,
        max_connections: int = 50,
        pool_timeout: float = 5.0,
        backoff_cap: float = 0.1,
    ) -> None:
        url = _resolve_url(storage_url)
        self._codec = _Codec(url, _check_namespace(namespace), validate_ttl(ttl))
        self.settings = ConnectionSettings(
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            backoff_cap=backoff_cap,
            max_connections=max_connections,
            pool_timeout=pool_timeout,
        )
        if not isinstance(cluster, bool):
            raise TypeError(f"cluster must be a bool, not {type(cluster).__name__}")
        self.cluster = cluster
        self._owns_client = client is None
        if client is None:
            with self._codec.failures("connect"):
                client = self._build_client(url)
        self._client: Any = client
        self._update_script = self._client.register_script(_UPDATE_KEEPING_METADATA)
        self._owned_namespace = False
        # On a cluster, redis-py's per-node pools do not wait for a free connection; the
        # manager bounds the calls in flight itself (a threading or asyncio semaphore).
        self._gate: Any = None
        if cluster and not self._is_async:
            self._gate = threading.BoundedSemaphore(self.settings.max_connections)
        self._async_gates: dict[asyncio.AbstractEventLoop, _AsyncGate] = {}

    def _build_client(self, url: str) -> Any:
        settings = self.settings
        options = settings.client_options()
        if self._is_async:
            retry: Any = redis.asyncio.retry.Retry(
                settings.backoff(), settings.retries, supported_errors=(redis.ConnectionError,)
            )
            if self.cluster:
                return redis.asyncio.cluster.RedisCluster.from_url(
                    url, retry=retry, max_connections=settings.max_connections, **options
                )
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url,
                max_connections=settings.max_connections,
                timeout=settings.pool_timeout,
                retry=retry,
                **options,
            )
            return redis.asyncio.Redis.from_pool(pool)
        retry = Retry(
            settings.backoff(), settings.retries, supported_errors=(redis.ConnectionError,)
        )
        if self.cluster:
            return redis.cluster.RedisCluster.from_url(url, retry=retry, **options)
        sync_pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=settings.max_connections,
            timeout=settings.pool_timeout,
            retry=retry,
            **options,
        )
        return redis.Redis.from_pool(sync_pool)

    def __repr__(self) -> str:
        return self._codec.repr(type(self), self.cluster)

    @property
    def ttl(self) -> float | None:
        """Lifetime of a slot in seconds, ``None`` for no expiry."""
        return self._codec.ttl

    @property
    def namespace(self) -> str:
        """The prefix of every key this manager writes."""
        return self._codec.namespace

    def _run(self, operation: str, call: Any, *args: Any, **options: Any) -> Any:
        """One call: a place among the calls in flight (cluster), then redis-py's errors
        turned into MemoryBackendError. Plain try/except: this is every operation's path."""
        gate = self._gate
        if gate is not None and not gate.acquire(timeout=self.settings.pool_timeout):
            raise self._codec.error(operation, self._busy())
        try:
            return call(*args, **options)
        except _REDIS_FAILURES as exc:
            raise self._codec.failure(operation, exc) from exc
        finally:
            if gate is not None:
                gate.release()

    async def _arun(self, operation: str, call: Any, *args: Any, **options: Any) -> Any:
        """The async twin of :meth:`_run`. Callers queue first come, first served on the
        event loop's gate: redis-py's asyncio pools hand a freed connection to whichever
        task asks next, so under load one caller could wait out ``pool_timeout`` while
        later ones go ahead."""
        loop = asyncio.get_running_loop()
        gate = self._async_gates.get(loop)
        if gate is None:
            gate = _AsyncGate(self.settings.max_connections)
            self._async_gates = {loop: gate}
        semaphore = gate.semaphore
        if semaphore.locked():
            try:
                async with asyncio.timeout(self.settings.pool_timeout):
                    await semaphore.acquire()
            except TimeoutError:
                raise self._codec.error(operation, self._busy()) from None
        else:
            await semaphore.acquire()  # returns at once
        try:
            if not gate.ready and self.cluster:
                # redis-py's async cluster client, first used by many tasks at once,
                # discovers the topology in each of them and breaks its own connections;
                # one task discovers it while the others wait.
                async with gate.lock:
                    if not gate.ready:
                        await self._client.initialize()
                        gate.ready = True
            return await call(*args, **options)
        except _REDIS_FAILURES as exc:
            raise self._codec.failure(operation, exc) from exc
        finally:
            semaphore.release()

    def _busy(self) -> str:
        return (
            f"all {self.settings.max_connections} connections stayed busy for "
            f"pool_timeout={self.settings.pool_timeout} s"
        )


class RedisWorkingMemoryManager(_RedisManager):
    """Working memory in Redis, shared by every process that uses the same server.

    Give ``storage_url`` (else ``$REDIS_URL``, else ``redis://localhost:6379/0``) or an
    existing ``client``; ``cluster=True`` connects to a Redis Cluster through any of its
    nodes (redis-py's ``RedisCluster``). ``namespace`` prefixes every key, so several apps
    can share one database. ``socket_timeout``, ``connect_timeout`` (default: the socket
    timeout), ``retries``, ``backoff_cap``, ``max_connections`` and ``pool_timeout`` are
    described in :class:`ConnectionSettings`, available as ``manager.settings``; with the
    defaults no call takes longer than ``settings.worst_case_seconds`` (10.4 s).
    """

    _client: redis.Redis

    def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """``SET key record PX ttl``: the slot's content becomes ``input.data``."""
        request = as_memory_input(input)
        value = self._codec.encode(request, require_data(request, "store"), request.metadata)
        key = self._codec.key(request)
        self._run("store", self._client.set, key, value, px=self._codec.px)
        return key

    def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """``GET key``: the slot's items, or ``[]`` when it is missing or expired."""
        request = as_memory_input(input)
        key = self._codec.key(request)
        return self._codec.decode(key, self._run("retrieve", self._client.get, key))

    def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """``SET key record XX PX ttl``: replace a live slot's content, never create one."""
        request = as_memory_input(input)
        key, value, keeps_metadata = self._codec.update(request)
        if keeps_metadata:
            self._run("update", self._update_script, keys=[key], args=[value, self._codec.px or ""])
        else:
            self._run("update", self._client.set, key, value, xx=True, px=self._codec.px)

    def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """``DEL key``: remove the slot; a missing slot is fine."""
        request = as_memory_input(input)
        key = self._codec.key(request)
        self._run("delete", self._client.delete, key)

    def keys(self) -> Iterator[str]:
        """Every key of this namespace, by ``SCAN`` (never ``KEYS``; every master of a
        cluster)."""
        with self._codec.failures("scan"):
            for key in self._client.scan_iter(match=self._codec.pattern(), count=500):
                yield key.decode("utf-8") if isinstance(key, bytes) else str(key)

    def clear_namespace(self) -> int:
        """Delete every key of this namespace (found by ``SCAN``, deleted ``_CLEAR_BATCH`` to a
        ``DEL``); return how many."""
        keys = list(self.keys())
        removed = 0
        for start in range(0, len(keys), _CLEAR_BATCH):
            with self._codec.failures("clear"):
                removed += int(self._client.delete(*keys[start : start + _CLEAR_BATCH]))
        return removed

    def close(self) -> None:
        """Release the connections (only those this manager opened)."""
        if self._owned_namespace:
            self.clear_namespace()
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> RedisWorkingMemoryManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncRedisWorkingMemoryManager(_RedisManager):
    """The async twin of :class:`RedisWorkingMemoryManager`, on ``redis.asyncio`` (its
    blocking pool, its own ``Retry``, and ``redis.asyncio.cluster.RedisCluster``)."""

    _is_async = True
    _client: redis.asyncio.Redis

    async def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """See :meth:`RedisWorkingMemoryManager.store`."""
        request = as_memory_input(input)
        value = self._codec.encode(request, require_data(request, "store"), request.metadata)
        key = self._codec.key(request)
        await self._arun("store", self._client.set, key, value, px=self._codec.px)
        return key

    async def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """See :meth:`RedisWorkingMemoryManager.retrieve`."""
        request = as_memory_input(input)
        key = self._codec.key(request)
        return self._codec.decode(key, await self._arun("retrieve", self._client.get, key))

    async def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`RedisWorkingMemoryManager.update`."""
        request = as_memory_input(input)
        key, value, keeps_metadata = self._codec.update(request)
        if keeps_metadata:
            await self._arun(
                "update", self._update_script, keys=[key], args=[value, self._codec.px or ""]
            )
        else:
            await self._arun("update", self._client.set, key, value, xx=True, px=self._codec.px)

    async def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`RedisWorkingMemoryManager.delete`."""
        request = as_memory_input(input)
        key = self._codec.key(request)
        await self._arun("delete", self._client.delete, key)

    async def clear_namespace(self) -> int:
        """Delete every key of this namespace (found by ``SCAN``); return how many."""
        removed = 0
        with self._codec.failures("clear"):
            pattern = self._codec.pattern()
            keys = [key async for key in self._client.scan_iter(match=pattern, count=500)]
            for start in range(0, len(keys), _CLEAR_BATCH):
                removed += int(await self._client.delete(*keys[start : start + _CLEAR_BATCH]))
        return removed

    async def aclose(self) -> None:
        """Release the connections (only those this manager opened)."""
        if self._owned_namespace:
            await self.clear_namespace()
        if self._owns_client:
            await self._client.aclose()


def isolated_redis_manager(
    ttl: float | None = DEFAULT_TTL, storage_url: str | None = None, cluster: bool = False
) -> RedisWorkingMemoryManager:
    """A manager in a fresh random namespace, emptied by ``close()``: made for certification.

    ``memspec certify memspec.reference.redis:isolated_redis_manager`` certifies against
    ``$REDIS_URL``; its ``memspec_reopen`` opens a second manager on the same namespace.
    The manager reaches the server through a :class:`~memspec.reference.faults.LoopbackProxy`
    of its own, which ``memspec_outage`` cuts.
    """
    namespace = f"memspec-certify-{uuid.uuid4().hex}"
    if cluster:  # a cluster client follows the nodes' own addresses: no proxy in between
        manager = RedisWorkingMemoryManager(storage_url, ttl=ttl, namespace=namespace, cluster=True)
        manager._owned_namespace = True
        return manager
    return _proxied(_IsolatedRedisManager, storage_url, ttl, namespace)


def isolated_async_redis_manager(
    ttl: float | None = DEFAULT_TTL, storage_url: str | None = None, cluster: bool = False
) -> AsyncRedisWorkingMemoryManager:
    """The async twin of :func:`isolated_redis_manager`."""
    namespace = f"memspec-certify-{uuid.uuid4().hex}"
    if cluster:
        manager = AsyncRedisWorkingMemoryManager(
            storage_url, ttl=ttl, namespace=namespace, cluster=True
        )
        manager._owned_namespace = True
        return manager
    return _proxied(_IsolatedAsyncRedisManager, storage_url, ttl, namespace)


class _IsolatedRedisManager(RedisWorkingMemoryManager):
    """A manager connected through a proxy of its own (its outage switch), closed with it."""

    _memspec_proxy: LoopbackProxy
    _memspec_url: str  # the server's own URL, for a second manager

    def __repr__(self) -> str:
        return self._codec.repr(RedisWorkingMemoryManager, self.cluster)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._memspec_proxy.close()


class _IsolatedAsyncRedisManager(AsyncRedisWorkingMemoryManager):
    """The async twin of :class:`_IsolatedRedisManager`."""

    _memspec_proxy: LoopbackProxy
    _memspec_url: str

    def __repr__(self) -> str:
        return self._codec.repr(AsyncRedisWorkingMemoryManager, self.cluster)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            self._memspec_proxy.close()


_Isolated = TypeVar("_Isolated", _IsolatedRedisManager, _IsolatedAsyncRedisManager)


def _proxied(
    cls: type[_Isolated],
    storage_url: str | None,
    ttl: float | None,
    namespace: str,
    owned: bool = True,
) -> _Isolated:
    """A ``cls`` manager on ``namespace`` whose connections go through a new proxy."""
    url = _resolve_url(storage_url)
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(
            "the isolated managers connect through a loopback TCP proxy: storage_url must be a "
            f"redis:// or rediss:// URL with a host, not {redact(url)!r}"
        )
    proxy = LoopbackProxy(parts.hostname, parts.port or 6379)
    user = parts.netloc.rpartition("@")[0]
    through = urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{proxy.port}".lstrip("@")))
    try:
        manager = cls(through, ttl=ttl, namespace=namespace)
    except BaseException:
        proxy.close()
        raise
    manager._owned_namespace = owned
    manager._memspec_proxy = proxy
    manager._memspec_url = url
    return manager


def _reopen(manager: RedisWorkingMemoryManager) -> RedisWorkingMemoryManager:
    if isinstance(manager, _IsolatedRedisManager):
        return _proxied(type(manager), manager._memspec_url, manager.ttl, manager.namespace, False)
    return RedisWorkingMemoryManager(
        manager._codec.url, ttl=manager.ttl, namespace=manager.namespace, cluster=manager.cluster
    )


def _reopen_async(manager: AsyncRedisWorkingMemoryManager) -> AsyncRedisWorkingMemoryManager:
    if isinstance(manager, _IsolatedAsyncRedisManager):
        return _proxied(type(manager), manager._memspec_url, manager.ttl, manager.namespace, False)
    return AsyncRedisWorkingMemoryManager(
        manager._codec.url, ttl=manager.ttl, namespace=manager.namespace, cluster=manager.cluster
    )


isolated_redis_manager.memspec_reopen = _reopen  # type: ignore[attr-defined]
isolated_redis_manager.memspec_outage = proxy_outage  # type: ignore[attr-defined]
isolated_async_redis_manager.memspec_reopen = _reopen_async  # type: ignore[attr-defined]
isolated_async_redis_manager.memspec_outage = proxy_outage  # type: ignore[attr-defined]
