"""The reference in-process memory manager, sync and async.

Slots live in a plain dict. Beside it, a queue holds every record in the order it was
written. Every slot of a manager has the same TTL, so write order is also expiry order: the
expired slots are at the front of the queue, and clean-up pops them in amortised O(1) per
operation without scanning. The queue holds only a key and a write number per write, never
content, so a deleted slot's memory is released at once; an entry whose slot was overwritten
or deleted is recognised and dropped when it reaches the front, and the queue is compacted
when such stale entries outnumber the live ones. The same order gives least-recently-written
eviction for ``max_entries``. Reads check expiry themselves, so an expired slot is invisible
whether or not clean-up has reached it.
"""

from __future__ import annotations

import copy
import itertools
import math
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from memspec.models import (
    ConversationMemoryType,
    IMemoryInput,
    IWorkingMemory,
    StoredRecord,
    as_memory_input,
    copy_metadata,
    require_data,
)
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock, validate_ttl

__all__ = ["AsyncInMemoryManager", "InMemoryManager", "MemoryStats", "StorageView"]

#: Expired slots popped per write on the hot path; the backlog shrinks faster than writes add.
_PURGE_BATCH = 16

#: The queue is compacted when it holds more than twice the live entries plus this many.
_QUEUE_SLACK = 1024

# A slot's record is a plain tuple, the cheapest object to build on the write path:
# (items, metadata or None for {}, expires_at). The slot's key carries its memory type and
# conversation ID. Records are never mutated, so readers may use one after releasing the lock.
_Record = tuple[tuple[str, ...], dict[str, Any] | None, float]
_ITEMS: Final = 0
_METADATA: Final = 1
_EXPIRES: Final = 2
_NEVER = math.inf


@dataclass(frozen=True)
class MemoryStats:
    """A point-in-time picture of a manager's memory use, from :meth:`InMemoryManager.stats`."""

    live: int
    """Slots that retrieve would return."""
    expired_pending: int
    """Expired slots not yet purged (invisible to every operation, still holding memory)."""
    by_type: Mapping[str, int]
    """Live slots per memory type value."""
    approx_bytes: int
    """Estimated bytes held by keys, items, metadata and bookkeeping of all slots."""
    evicted: int
    """Slots removed by the ``max_entries`` bound since the manager was built."""
    purged: int
    """Expired slots removed since the manager was built."""


def _key(conversation_id: str, memory_type: ConversationMemoryType) -> str:
    # The memory type never contains ":", so the key is unique per slot whatever the ID holds.
    # ``_value_`` is the enum's stored value; ``.value`` goes through a much slower descriptor.
    # store and update build the same key inline, as they build items: it is their hot path.
    return f"memory:{memory_type._value_}:{conversation_id}"


def _split(key: str) -> tuple[str, ConversationMemoryType]:
    """The conversation ID and memory type a key was made from."""
    _, memory_type, conversation_id = key.split(":", 2)
    return conversation_id, ConversationMemoryType(memory_type)


def _validate_max_entries(max_entries: object) -> int | None:
    if max_entries is None:
        return None
    if isinstance(max_entries, bool) or not isinstance(max_entries, int):
        raise TypeError(f"max_entries must be a positive int or None, not {max_entries!r}")
    if max_entries < 1:
        raise ValueError(f"max_entries must be at least 1, got {max_entries}")
    return max_entries


class InMemoryManager:
    """Conversation memory in this process's RAM: the reference implementation of the contract.

    ``ttl`` is the lifetime of a slot in seconds (default 12 hours, ``None`` for no expiry),
    ``clock`` a zero-argument callable returning seconds (default ``time.monotonic``), and
    ``max_entries`` an optional bound on the number of slots, past which the least recently
    written slot is evicted. Thread-safe: every operation holds one lock for its whole effect.
    """

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        max_entries: int | None = None,
    ) -> None:
        self.ttl: float | None = validate_ttl(ttl)
        self.max_entries: int | None = _validate_max_entries(max_entries)
        self._clock = validate_clock(clock)
        self._lifetime = _NEVER if self.ttl is None else self.ttl
        self._slots: dict[str, _Record] = {}
        # The write-order queue, as two parallel deques (no tuple per write): the key written,
        # and the expiry float object of that write's record. An entry is current while the
        # slot's record holds that very float object (compared by identity; the queue keeps
        # it alive, so no other object can share its identity).
        self._queue_keys: deque[str] = deque()
        self._queue_expiries: deque[float] = deque()
        # Compaction runs when the queue outgrows this; after each, it is twice the live
        # entries plus slack, so every compaction is paid for by as many writes.
        self._compact_above = _QUEUE_SLACK
        self._lock = threading.Lock()
        # No slot expires before this time: a lower bound that lets the write path skip
        # clean-up with one comparison. It is the front record's expiry while expiry order is
        # write order, and -inf once the clock has gone backwards (then order is not assumed).
        self._no_expiry_before = _NEVER
        self._latest_expiry = -_NEVER
        self._evicted = 0
        self._purged = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ttl={self.ttl!r}, max_entries={self.max_entries!r})"

    # -- the four operations -------------------------------------------------------------

    def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """Make the slot's content exactly ``input.data`` (and its metadata ``input.metadata``
        or ``{}``), restart its lifetime, and return its key.

        Raises ``ValueError`` when ``data`` is missing or empty, and pydantic's
        ``ValidationError`` (a ``ValueError``) or ``TypeError`` for an invalid input; nothing
        changes then.
        """
        request = as_memory_input(input)
        items = tuple([item.working_memory for item in require_data(request, "store")])
        metadata = copy_metadata(request.metadata) or None
        key = f"memory:{request.memory_type._value_}:{request.conversation_id}"
        # acquire/release rather than ``with``: this is the hot path, and it is twice as fast.
        self._lock.acquire()
        try:
            now = self._clock()
            if now >= self._no_expiry_before:
                self._purge(now, _PURGE_BATCH)
            self._write(key, (items, metadata, now + self._lifetime))
            if self.max_entries is not None and len(self._slots) > self.max_entries:
                self._evict(now)
        finally:
            self._lock.release()
        return key

    def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """Return new copies of the slot's items in order, or ``[]`` if it is missing or expired.

        Never changes the slot or its lifetime; ``limit``, ``query`` and ``filters`` are ignored.
        """
        request = as_memory_input(input)
        # No lock: one dict lookup is atomic and records are never mutated, so the read takes
        # effect at that lookup, between any two writes.
        record = self._slots.get(_key(request.conversation_id, request.memory_type))
        if record is None or self._clock() >= record[_EXPIRES]:
            return []
        return [IWorkingMemory(working_memory=text) for text in record[_ITEMS]]

    def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """Replace a live slot's items (and metadata, when given) and restart its lifetime.

        A missing or expired slot is left missing: update never creates one. Raises like
        :meth:`store` for empty data or invalid input.
        """
        request = as_memory_input(input)
        items = tuple([item.working_memory for item in require_data(request, "update")])
        given = request.metadata
        if given is not None:
            given = copy_metadata(given) or None
        key = f"memory:{request.memory_type._value_}:{request.conversation_id}"
        self._lock.acquire()
        try:
            current = self._slots.get(key)
            if current is None:
                return
            now = self._clock()
            if now >= current[_EXPIRES]:
                del self._slots[key]
                self._purged += 1
                return
            metadata = current[_METADATA] if request.metadata is None else given
            self._write(key, (items, metadata, now + self._lifetime))
        finally:
            self._lock.release()

    def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """Remove the slot; other memory types of the conversation stay. Missing is fine."""
        request = as_memory_input(input)
        key = _key(request.conversation_id, request.memory_type)
        self._lock.acquire()
        try:
            self._slots.pop(key, None)
        finally:
            self._lock.release()

    # -- housekeeping and observability ---------------------------------------------------

    def clear_expired(self) -> int:
        """Purge every expired slot now and return how many were removed."""
        with self._lock:
            return self._purge(self._clock(), None)

    def _clear_expired_memory(self) -> int:
        """Alias of :meth:`clear_expired`, kept for code written against Arshai's manager."""
        return self.clear_expired()

    def __len__(self) -> int:
        """The number of live slots (expired ones are purged first)."""
        with self._lock:
            self._purge(self._clock(), None)
            return len(self._slots)

    @property
    def storage(self) -> StorageView:
        """A read-only mapping of live slots: slot key -> :class:`~memspec.StoredRecord`."""
        return StorageView(self)

    def stats(self) -> MemoryStats:
        """Count live and expired-but-unpurged slots and estimate the bytes they hold.

        Walks every slot, so it costs O(n): call it for monitoring, not per request.
        """
        with self._lock:
            now = self._clock()
            live = expired = 0
            size = sys.getsizeof(self._slots) + 2 * sys.getsizeof(self._queue_keys)
            by_type: dict[str, int] = {t.value: 0 for t in ConversationMemoryType}
            for key, record in self._slots.items():
                size += _record_size(key, record)
                if now >= record[_EXPIRES]:
                    expired += 1
                else:
                    live += 1
                    by_type[_split(key)[1].value] += 1
            return MemoryStats(live, expired, by_type, size, self._evicted, self._purged)

    # -- internals (called with the lock held) -------------------------------------------

    def _write(self, key: str, record: _Record) -> None:
        """Make ``record`` the slot's content and queue the write."""
        expires_at = record[_EXPIRES]
        if expires_at < self._latest_expiry:
            self._no_expiry_before = -_NEVER  # the clock went backwards: order is lost
        else:
            self._latest_expiry = expires_at
            if expires_at < self._no_expiry_before:
                self._no_expiry_before = expires_at
        self._slots[key] = record
        self._queue_keys.append(key)
        self._queue_expiries.append(expires_at)
        if len(self._queue_keys) > self._compact_above:
            self._compact()

    def _compact(self) -> None:
        """Drop queue entries whose slot was overwritten or deleted; O(queue), amortised O(1)."""
        slots = self._slots
        keep = [
            (key, expires_at)
            for key, expires_at in zip(self._queue_keys, self._queue_expiries, strict=True)
            if (record := slots.get(key)) is not None and record[_EXPIRES] is expires_at
        ]
        self._queue_keys = deque(key for key, _ in keep)
        self._queue_expiries = deque(expires_at for _, expires_at in keep)
        self._compact_above = 2 * len(keep) + _QUEUE_SLACK

    def _front(self) -> tuple[str, _Record] | None:
        """The least recently written current slot, dropping stale queue entries before it."""
        keys, expiries, slots = self._queue_keys, self._queue_expiries, self._slots
        while keys:
            record = slots.get(keys[0])
            if record is not None and record[_EXPIRES] is expiries[0]:
                return keys[0], record
            keys.popleft()
            expiries.popleft()
        return None

    def _pop_front(self) -> None:
        """Remove the slot :meth:`_front` just returned, and its queue entry."""
        del self._slots[self._queue_keys.popleft()]
        self._queue_expiries.popleft()

    def _purge(self, now: float, limit: int | None) -> int:
        """Remove expired slots from the front (at most ``limit``); all of them when ``None``."""
        slots = self._slots
        removed = 0
        ordered = self._no_expiry_before != -_NEVER
        while limit is None or removed < limit:
            front = self._front()
            if front is None or now < front[1][_EXPIRES]:
                break
            self._pop_front()
            removed += 1
        if limit is None and not ordered:
            stale = [key for key, record in slots.items() if now >= record[_EXPIRES]]
            for key in stale:
                del slots[key]
            removed += len(stale)
            self._compact()
            expiries = list(self._queue_expiries)
            if all(a <= b for a, b in itertools.pairwise(expiries)):
                ordered = True
                self._latest_expiry = expiries[-1] if expiries else -_NEVER
        if ordered:
            self._reset_bound()
        self._purged += removed
        return removed

    def _reset_bound(self) -> None:
        front = self._front()
        self._no_expiry_before = _NEVER if front is None else front[1][_EXPIRES]

    def _evict(self, now: float) -> None:
        assert self.max_entries is not None
        self._purge(now, None)
        while len(self._slots) > self.max_entries and self._front() is not None:
            self._pop_front()
            self._evicted += 1
        if self._no_expiry_before != -_NEVER:
            self._reset_bound()

    def _record(self, key: str) -> StoredRecord | None:
        with self._lock:
            record = self._slots.get(key)
            if record is None or self._clock() >= record[_EXPIRES]:
                return None
        conversation_id, memory_type = _split(key)
        return StoredRecord(
            conversation_id=conversation_id,
            memory_type=memory_type,
            data=[IWorkingMemory(working_memory=text) for text in record[_ITEMS]],
            metadata=copy.deepcopy(record[_METADATA]) if record[_METADATA] else {},
        )

    def _live_keys(self) -> list[str]:
        with self._lock:
            now = self._clock()
            return [key for key, record in self._slots.items() if now < record[_EXPIRES]]


def _record_size(key: str, record: _Record) -> int:
    items, metadata, _ = record
    size = sys.getsizeof(key) + sys.getsizeof(record) + sys.getsizeof(items) + 24  # the float
    size += sum(sys.getsizeof(text) for text in items)
    if metadata:
        size += sys.getsizeof(metadata) + len(repr(metadata))
    return size + 90  # the dict's entry and the queue's two references


class StorageView(Mapping[str, StoredRecord]):
    """A read-only, live view of a manager's slots, keyed by the key ``store`` returned.

    Each lookup takes the manager's lock and returns a fresh :class:`~memspec.StoredRecord`
    copy; iteration walks a snapshot of the keys that were live when it started.
    """

    def __init__(self, manager: InMemoryManager) -> None:
        self._manager = manager

    def __getitem__(self, key: str) -> StoredRecord:
        record = self._manager._record(key)
        if record is None:
            raise KeyError(key)
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(self._manager._live_keys())

    def __len__(self) -> int:
        return len(self._manager)

    def __repr__(self) -> str:
        return f"<StorageView of {len(self)} live slots>"


class AsyncInMemoryManager:
    """The async twin of :class:`InMemoryManager`: same arguments, same semantics.

    Each coroutine runs the sync operation inline: it never awaits in the middle, so it is
    atomic with respect to other tasks, and it takes microseconds, so it does not block the
    event loop in any way that matters.
    """

    def __init__(
        self,
        ttl: float | None = DEFAULT_TTL,
        clock: Clock | None = None,
        *,
        max_entries: int | None = None,
    ) -> None:
        self.sync = InMemoryManager(ttl=ttl, clock=clock, max_entries=max_entries)

    def __repr__(self) -> str:
        return f"Async{self.sync!r}"

    async def store(self, input: IMemoryInput | Mapping[str, Any] | Any) -> str:
        """See :meth:`InMemoryManager.store`."""
        return self.sync.store(input)

    async def retrieve(self, input: IMemoryInput | Mapping[str, Any] | Any) -> list[IWorkingMemory]:
        """See :meth:`InMemoryManager.retrieve`."""
        return self.sync.retrieve(input)

    async def update(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`InMemoryManager.update`."""
        self.sync.update(input)

    async def delete(self, input: IMemoryInput | Mapping[str, Any] | Any) -> None:
        """See :meth:`InMemoryManager.delete`."""
        self.sync.delete(input)

    def clear_expired(self) -> int:
        """See :meth:`InMemoryManager.clear_expired`."""
        return self.sync.clear_expired()

    def stats(self) -> MemoryStats:
        """See :meth:`InMemoryManager.stats`."""
        return self.sync.stats()

    @property
    def storage(self) -> StorageView:
        """See :attr:`InMemoryManager.storage`."""
        return self.sync.storage

    def __len__(self) -> int:
        return len(self.sync)
