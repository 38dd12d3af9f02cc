"""Memory managers on Redis, sync and async (install with the ``redis`` extra).

Key layout: ``{namespace}:wm:{memory_type}:{conversation_id}``, one plain string key per
slot, so every operation touches a single key and works on Redis Cluster. The memory type
never contains ``:``, so the key is unique per slot whatever the conversation ID holds. The
value is a :class:`~memspec.StoredRecord` as JSON; expiry is Redis's own, in milliseconds.

One round trip per operation: store is ``SET key value PX ttl``, update is ``SET key value XX
PX ttl`` (never creates, restarts the lifetime; when the update gives no metadata, a
one-key script keeps the stored metadata), retrieve is ``GET``, delete is ``DEL``.
Failures raise :class:`~memspec.MemoryBackendError`; nothing is ever turned into an empty
result. Credentials never appear in ``repr``, log records or error messages.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
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
from memspec.ttl import DEFAULT_TTL, validate_ttl
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

__all__ = [
    "DEFAULT_URL",
    "AsyncRedisWorkingMemoryManager",
    "RedisWorkingMemoryManager",
    "isolated_async_redis_manager",
    "isolated_redis_manager",
    "redact",
]

#: Used when neither ``storage_url`` nor the ``REDIS_URL`` environment variable is set.
DEFAULT_URL = "redis://localhost:6379/0"

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


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for repr, logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


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
        try:
            yield
        except redis.RedisError as exc:
            raise MemoryBackendError(
                f"{operation} on {redact(self.url)} failed: {type(exc).__name__}: "
                f"{_scrub(str(exc), self.url)}"
            ) from exc

    @asynccontextmanager
    async def async_failures(self, operation: str) -> AsyncIterator[None]:
        with self.failures(operation):
            yield

    def repr(self, cls: type) -> str:
        url = redact(self.url)
        return f"{cls.__name__}(url={url!r}, namespace={self.namespace!r}, ttl={self.ttl!r})"


def _scrub(message: str, url: str) -> str:
    """Remove the URL's password from a message, should a library ever include it."""
    password = urlsplit(url).password
    return message.replace(password, "***") if password else message


def _client_options(socket_timeout: float, retries: int) -> dict[str, Any]:
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        # One quick retry reconnects a pooled connection after a server restart; every
        # command here is idempotent, so repeating one is safe.
        "retry": Retry(ExponentialBackoff(cap=0.05, base=0.01), retries),
        "health_check_interval": 0,
    }


class _RedisManager:
    """Construction and settings shared by the sync and async managers."""

    #: Redis expires keys to the millisecond; the suite allows this much slack.
    expiry_precision = 0.005
    _client_class: Any = None

    def __init__(
        self,
        storage_url: str | None = None,
        *,
        client: Any = None,
        ttl: float | None = DEFAULT_TTL,
        namespace: str = "memspec",
        socket_timeout: float = 5.0,
        retries: int = 1,
    ) -> None:
        url = _resolve_url(storage_url)
        self._codec = _Codec(url, _check_namespace(namespace), validate_ttl(ttl))
        self._owns_client = client is None
        self._client = client or self._client_class.from_url(
            url, **_client_options(socket_timeout, retries)
        )
        self._update_script = self._client.register_script(_UPDATE_KEEPING_METADATA)
        self._owned_namespace = False

    def __repr__(self) -> str:
        return self._codec.repr(type(self))

    @property
    def ttl(self) -> float | None:
        """Lifetime of a slot in seconds, ``None`` for no expiry."""
        return self._codec.ttl

    @property
    def namespace(self) -> str:
        """The prefix of every key this manager writes."""
        return self._codec.namespace


class RedisWorkingMemoryManager(_RedisManager):
    """Working memory in Redis, shared by every process that uses the same server.

    Give ``storage_url`` (else ``$REDIS_URL``, else ``redis://localhost:6379/0``) or an
    existing ``client``. ``namespace`` prefixes every key, so several apps can share one
    database. ``socket_timeout`` bounds each call; ``retries`` reconnect attempts per call.
    """

    _client_class = redis.Redis
    _client: redis.Redis

    def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """``SET key record PX ttl``: the slot's content becomes ``input.data``."""
        request = as_memory_input(input)
        value = self._codec.encode(request, require_data(request, "store"), request.metadata)
        key = self._codec.key(request)
        with self._codec.failures("store"):
            self._client.set(key, value, px=self._codec.px)
        return key

    def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """``GET key``: the slot's items, or ``[]`` when it is missing or expired."""
        request = as_memory_input(input)
        key = self._codec.key(request)
        with self._codec.failures("retrieve"):
            raw = self._client.get(key)
        return self._codec.decode(key, raw)

    def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """``SET key record XX PX ttl``: replace a live slot's content, never create one."""
        request = as_memory_input(input)
        key, value, keeps_metadata = self._codec.update(request)
        with self._codec.failures("update"):
            if keeps_metadata:
                self._update_script(keys=[key], args=[value, self._codec.px or ""])
            else:
                self._client.set(key, value, xx=True, px=self._codec.px)

    def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """``DEL key``: remove the slot; a missing slot is fine."""
        request = as_memory_input(input)
        with self._codec.failures("delete"):
            self._client.delete(self._codec.key(request))

    def keys(self) -> Iterator[str]:
        """Every key of this namespace, by ``SCAN`` (never ``KEYS``)."""
        with self._codec.failures("scan"):
            for key in self._client.scan_iter(match=self._codec.pattern(), count=500):
                yield key.decode("utf-8") if isinstance(key, bytes) else str(key)

    def clear_namespace(self) -> int:
        """Delete every key of this namespace (found by ``SCAN``); return how many."""
        removed = 0
        for key in list(self.keys()):
            with self._codec.failures("clear"):
                removed += int(self._client.delete(key))
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
    """The async twin of :class:`RedisWorkingMemoryManager`, on ``redis.asyncio``."""

    _client_class = redis.asyncio.Redis
    _client: redis.asyncio.Redis

    async def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """See :meth:`RedisWorkingMemoryManager.store`."""
        request = as_memory_input(input)
        value = self._codec.encode(request, require_data(request, "store"), request.metadata)
        key = self._codec.key(request)
        async with self._codec.async_failures("store"):
            await self._client.set(key, value, px=self._codec.px)
        return key

    async def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """See :meth:`RedisWorkingMemoryManager.retrieve`."""
        request = as_memory_input(input)
        key = self._codec.key(request)
        async with self._codec.async_failures("retrieve"):
            raw = await self._client.get(key)
        return self._codec.decode(key, raw)

    async def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`RedisWorkingMemoryManager.update`."""
        request = as_memory_input(input)
        key, value, keeps_metadata = self._codec.update(request)
        async with self._codec.async_failures("update"):
            if keeps_metadata:
                await self._update_script(keys=[key], args=[value, self._codec.px or ""])
            else:
                await self._client.set(key, value, xx=True, px=self._codec.px)

    async def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`RedisWorkingMemoryManager.delete`."""
        request = as_memory_input(input)
        async with self._codec.async_failures("delete"):
            await self._client.delete(self._codec.key(request))

    async def clear_namespace(self) -> int:
        """Delete every key of this namespace (found by ``SCAN``); return how many."""
        removed = 0
        async with self._codec.async_failures("clear"):
            keys = [key async for key in self._client.scan_iter(match=self._codec.pattern())]
            for key in keys:
                removed += int(await self._client.delete(key))
        return removed

    async def aclose(self) -> None:
        """Release the connections (only those this manager opened)."""
        if self._owned_namespace:
            await self.clear_namespace()
        if self._owns_client:
            await self._client.aclose()


def isolated_redis_manager(
    ttl: float | None = DEFAULT_TTL, storage_url: str | None = None
) -> RedisWorkingMemoryManager:
    """A manager in a fresh random namespace, emptied by ``close()``: made for certification.

    ``memspec certify memspec.reference.redis:isolated_redis_manager`` certifies against
    ``$REDIS_URL``; its ``memspec_reopen`` opens a second manager on the same namespace.
    The manager reaches the server through a :class:`~memspec.reference.faults.LoopbackProxy`
    of its own, which ``memspec_outage`` cuts.
    """
    return _proxied(_IsolatedRedisManager, storage_url, ttl, f"memspec-certify-{uuid.uuid4().hex}")


def isolated_async_redis_manager(
    ttl: float | None = DEFAULT_TTL, storage_url: str | None = None
) -> AsyncRedisWorkingMemoryManager:
    """The async twin of :func:`isolated_redis_manager`."""
    return _proxied(
        _IsolatedAsyncRedisManager, storage_url, ttl, f"memspec-certify-{uuid.uuid4().hex}"
    )


class _IsolatedRedisManager(RedisWorkingMemoryManager):
    """A manager connected through a proxy of its own (its outage switch), closed with it."""

    _memspec_proxy: LoopbackProxy
    _memspec_url: str  # the server's own URL, for a second manager

    def __repr__(self) -> str:
        return self._codec.repr(RedisWorkingMemoryManager)

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
        return self._codec.repr(AsyncRedisWorkingMemoryManager)

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


def _reopen(manager: _IsolatedRedisManager) -> RedisWorkingMemoryManager:
    return _proxied(type(manager), manager._memspec_url, manager.ttl, manager.namespace, False)


def _reopen_async(manager: _IsolatedAsyncRedisManager) -> AsyncRedisWorkingMemoryManager:
    return _proxied(type(manager), manager._memspec_url, manager.ttl, manager.namespace, False)


isolated_redis_manager.memspec_reopen = _reopen  # type: ignore[attr-defined]
isolated_redis_manager.memspec_outage = proxy_outage  # type: ignore[attr-defined]
isolated_async_redis_manager.memspec_reopen = _reopen_async  # type: ignore[attr-defined]
isolated_async_redis_manager.memspec_outage = proxy_outage  # type: ignore[attr-defined]
