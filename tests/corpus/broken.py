"""Deliberately broken managers: each has one subtle bug of a kind seen in real memory stores.

``BREAKS`` names the requirements the suite must report failed for each.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import math
import threading
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from memspec import ConversationMemoryType, IMemoryInput, IWorkingMemory
from memspec.ttl import DEFAULT_TTL, Clock, validate_clock

from corpus.simple import SimpleManager

logger = logging.getLogger("corpus.broken")


class AliveAtExpiry(SimpleManager):
    """Expiry off by one: still alive at exactly t + ttl (``>`` instead of ``>=``)."""

    BREAKS = ("MM-TTL-002",)

    def expired(self, entry: dict[str, Any], now: float) -> bool:
        return entry["expires"] is not None and now > entry["expires"]


class WholeSecondTTL(SimpleManager):
    """Rounds the TTL to whole seconds, at least one, like a backend with second precision."""

    BREAKS = ("MM-TTL-006",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        if self.ttl is not None:
            self.ttl = float(max(1, round(self.ttl)))


class UpdateKeepsLifetime(SimpleManager):
    """update replaces the items but keeps the old expiry time."""

    BREAKS = ("MM-TTL-004",)

    def update(self, input: Any) -> None:
        request = self.request(input)
        items = self.items_of(request)
        with self.lock:
            entry = self.live(self.key(request))
            if entry is not None:
                entry["items"] = items


class StoreKeepsLifetime(SimpleManager):
    """Overwriting a slot with store keeps the first write's expiry."""

    BREAKS = ("MM-TTL-004",)

    def store(self, input: Any) -> str:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        with self.lock:
            entry = self.live(key)
            expires = entry["expires"] if entry else self.expires_at(self.clock())
            self.slots[key] = {"items": items, "expires": expires}
        return key


class ReadExtendsLifetime(SimpleManager):
    """retrieve refreshes the expiry, like a sliding-window cache."""

    BREAKS = ("MM-TTL-005",)

    def live(self, key: str) -> dict[str, Any] | None:
        entry = super().live(key)
        if entry is not None:
            entry["expires"] = self.expires_at(self.clock())
        return entry


class UpdateRevivesExpired(SimpleManager):
    """update checks that the key exists, not that it is live, so it revives expired slots."""

    BREAKS = ("MM-TTL-003",)

    def update(self, input: Any) -> None:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        with self.lock:
            if key in self.slots:
                self.slots[key] = {"items": items, "expires": self.expires_at(self.clock())}


class KeepsLastItem(SimpleManager):
    """Overwrites the slot once per item, so only the last item survives."""

    BREAKS = ("MM-STORE-002",)

    def items_of(self, request: IMemoryInput) -> list[str]:
        return super().items_of(request)[-1:]


class KeepsFirstItem(SimpleManager):
    """Keeps only the first item of a write."""

    BREAKS = ("MM-STORE-002",)

    def items_of(self, request: IMemoryInput) -> list[str]:
        return super().items_of(request)[:1]


class ReversedItems(SimpleManager):
    """Returns the items newest first."""

    BREAKS = ("MM-STORE-002",)

    def shown(self, items: list[str], request: IMemoryInput) -> list[str]:
        return items[::-1]


class StoreAppends(SimpleManager):
    """store appends to what the slot held instead of replacing it."""

    BREAKS = ("MM-STORE-003",)

    def store(self, input: Any) -> str:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        with self.lock:
            entry = self.live(key)
            old = entry["items"] if entry else []
            self.slots[key] = {"items": old + items, "expires": self.expires_at(self.clock())}
        return key


class TruncatesLargeItems(SimpleManager):
    """Cuts every item at 64 KiB, like a column with a size limit."""

    BREAKS = ("MM-FID-004",)

    def items_of(self, request: IMemoryInput) -> list[str]:
        return [text[: 64 * 1024] for text in super().items_of(request)]


class StripsWhitespace(SimpleManager):
    """Trims surrounding white space from every item."""

    BREAKS = ("MM-FID-001",)

    def items_of(self, request: IMemoryInput) -> list[str]:
        return [text.strip() for text in super().items_of(request)]


class DropsEmptyItems(SimpleManager):
    """Filters out empty strings, as if they carried no memory."""

    BREAKS = ("MM-FID-001",)

    def shown(self, items: list[str], request: IMemoryInput) -> list[str]:
        return [text for text in items if text] or items[:1]


class HonoursLimit(SimpleManager):
    """Applies the input's ``limit`` (default 5) to working memory."""

    BREAKS = ("MM-MODEL-002",)

    def shown(self, items: list[str], request: IMemoryInput) -> list[str]:
        return items[: request.limit] if request.limit is not None else items


class CaseInsensitiveIds(SimpleManager):
    """Lower-cases conversation IDs in the key."""

    BREAKS = ("MM-ISO-003", "MM-STORE-009")

    def key(self, request: IMemoryInput) -> str:
        return f"{request.memory_type.value}|{request.conversation_id.lower()}"


class NormalisedIds(SimpleManager):
    """Normalises conversation IDs to NFC, merging visually equal IDs."""

    BREAKS = ("MM-ISO-003", "MM-STORE-009")

    def key(self, request: IMemoryInput) -> str:
        cid = unicodedata.normalize("NFC", request.conversation_id)
        return f"{request.memory_type.value}|{cid}"


class SplitsOnColon(SimpleManager):
    """Treats ':' as a namespace separator and keys on the part before it."""

    BREAKS = ("MM-ISO-003", "MM-STORE-009")

    def key(self, request: IMemoryInput) -> str:
        return f"{request.memory_type.value}|{request.conversation_id.split(':')[0]}"


class IgnoresMemoryType(SimpleManager):
    """Keys on the conversation only, so all memory types share one slot."""

    BREAKS = ("MM-ISO-002", "MM-STORE-009")

    def key(self, request: IMemoryInput) -> str:
        return request.conversation_id


class AliasesInput(SimpleManager):
    """Keeps the caller's items list and item objects instead of copies."""

    BREAKS = ("MM-STORE-007",)

    def items_of(self, request: IMemoryInput) -> list[Any]:
        if not request.data:
            raise ValueError("data must be a non-empty list")
        return request.data  # type: ignore[return-value]

    def request(self, input: Any) -> Any:
        validated = super().request(input)
        return input if hasattr(input, "conversation_id") else validated

    def key(self, request: IMemoryInput) -> str:
        memory_type = ConversationMemoryType(request.memory_type)
        return f"{memory_type.value}|{request.conversation_id}"

    def shown(self, items: list[Any], request: IMemoryInput) -> list[str]:
        return [getattr(item, "working_memory", item) for item in items]


class AliasesOutput(SimpleManager):
    """retrieve hands out its internal list of items."""

    BREAKS = ("MM-RETR-003",)

    def store(self, input: Any) -> str:
        request = self.request(input)
        items = [IWorkingMemory(working_memory=t) for t in self.items_of(request)]
        key = self.key(request)
        with self.lock:
            self.slots[key] = {"items": items, "expires": self.expires_at(self.clock())}
        return key

    def update(self, input: Any) -> None:
        request = self.request(input)
        items = [IWorkingMemory(working_memory=t) for t in self.items_of(request)]
        key = self.key(request)
        with self.lock:
            if self.live(key) is not None:
                self.slots[key] = {"items": items, "expires": self.expires_at(self.clock())}

    def retrieve(self, input: Any) -> list[Any]:
        request = self.request(input)
        with self.lock:
            entry = self.live(self.key(request))
            return [] if entry is None else entry["items"]  # type: ignore[no-any-return]


class UpdateCreates(SimpleManager):
    """update is an upsert: it creates missing slots."""

    BREAKS = ("MM-UPD-003",)

    def update(self, input: Any) -> None:
        self.store(input)


class UpdateAppends(SimpleManager):
    """update adds the new items after the old ones."""

    BREAKS = ("MM-UPD-002",)

    def update(self, input: Any) -> None:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        with self.lock:
            entry = self.live(key)
            if entry is not None:
                self.slots[key] = {
                    "items": entry["items"] + items,
                    "expires": self.expires_at(self.clock()),
                }


class DeletesWholeConversation(SimpleManager):
    """delete removes every memory type of the conversation."""

    BREAKS = ("MM-DEL-002",)

    def delete(self, input: Any) -> None:
        request = self.request(input)
        with self.lock:
            for key in [k for k in self.slots if k.split("|", 1)[1] == request.conversation_id]:
                del self.slots[key]


class NoneForMissing(SimpleManager):
    """retrieve returns None for a missing slot."""

    BREAKS = ("MM-RETR-002",)

    def retrieve(self, input: Any) -> list[Any]:
        return super().retrieve(input) or None  # type: ignore[return-value]


class AcceptsEmptyWrites(SimpleManager):
    """store and update accept empty data and write an empty slot."""

    BREAKS = ("MM-STORE-001", "MM-UPD-001")

    def items_of(self, request: IMemoryInput) -> list[str]:
        return [item.working_memory for item in request.data or []]


class PartialWrite(SimpleManager):
    """Validates the slot, then copies items one by one into it and stops at the first bad one."""

    BREAKS = ("MM-ERR-003",)

    def store(self, input: Any) -> str:
        names = ("conversation_id", "memory_type", "data")
        fields = (
            dict(input)
            if isinstance(input, Mapping)
            else {name: getattr(input, name) for name in names if hasattr(input, name)}
        )
        header = self.request(
            {k: fields[k] for k in ("conversation_id", "memory_type") if k in fields}
        )
        data = fields.get("data")
        if not data:
            raise ValueError("data must be a non-empty list")
        key = self.key(header)
        with self.lock:
            entry = self.slots.setdefault(key, {"items": [], "expires": None})
            entry["items"] = []
            entry["expires"] = self.expires_at(self.clock())
            for item in data:
                text = item["working_memory"] if isinstance(item, Mapping) else item.working_memory
                if not isinstance(text, str):
                    raise TypeError("working_memory must be a string")
                entry["items"].append(text)
        return key


class RacyUpdate(SimpleManager):
    """update checks and writes without holding the lock in between."""

    BREAKS = ("MM-CONC-002", "MM-CONC-003")  # an update racing a store overwrites it too
    RACE = True

    def update(self, input: Any) -> None:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        if self.live(key) is not None:
            time.sleep(0)
            self.slots[key] = {"items": items, "expires": self.expires_at(self.clock())}


class TornWrites(SimpleManager):
    """store writes its items one at a time into the live slot, without a lock."""

    BREAKS = ("MM-CONC-002",)
    RACE = True

    def store(self, input: Any) -> str:
        request = self.request(input)
        items = self.items_of(request)
        key = self.key(request)
        entry: dict[str, Any] = {"items": [], "expires": self.expires_at(self.clock())}
        self.slots[key] = entry
        for text in items:
            time.sleep(0)
            entry["items"].append(text)
        return key


class NanTtlNeverExpires(SimpleManager):
    """Checks ``ttl <= 0`` and nothing else, as many constructors do: NaN passes (every
    comparison with it is false), so its slots never expire, and an integer too large for a
    float is accepted and then raises ``OverflowError`` on every store."""

    BREAKS = ("MM-TTL-013",)

    def __init__(self, ttl: Any = DEFAULT_TTL, clock: Clock | None = None) -> None:
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float)):
            raise TypeError(f"ttl must be a number of seconds, not {type(ttl).__name__}")
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive")
        super().__init__(None, clock)
        self.ttl = ttl


class TimedeltaDeadline(SimpleManager):
    """Builds each deadline with ``timedelta(seconds=ttl)``, as Arshai's manager does, after a
    constructor that accepts any finite positive ttl: ``ttl=1e300`` is accepted, then every
    store raises ``OverflowError`` (timedelta stops at 999,999,999 days)."""

    BREAKS = ("MM-TTL-013",)

    def __init__(self, ttl: Any = DEFAULT_TTL, clock: Clock | None = None) -> None:
        if ttl is not None and not (
            isinstance(ttl, int | float) and not isinstance(ttl, bool) and 0 < ttl < math.inf
        ):
            raise ValueError(f"ttl must be a finite positive number of seconds, not {ttl!r}")
        super().__init__(None, clock)
        self.ttl = ttl

    def expires_at(self, now: float) -> float | None:
        if self.ttl is None:
            return None
        return now + datetime.timedelta(seconds=self.ttl).total_seconds()


class ClockOnlyWhenInjected(SimpleManager):
    """Keeps ``clock`` as given, with no default: it works whenever a test injects a clock and
    raises ``TypeError`` on every call when built as users build it, ``Manager(ttl=3600)``."""

    BREAKS = ("MM-MODEL-004",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self.clock = clock  # type: ignore[assignment]


class MinuteFloorTtl(SimpleManager):
    """Refuses any ttl under a minute, as a team whose store counts expiry in minutes would:
    ``ttl=1`` and ``ttl=0.5`` are clean refusals, but of lifetimes every manager must take."""

    BREAKS = ("MM-TTL-013",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        number = isinstance(ttl, int | float) and not isinstance(ttl, bool)
        if number and 0 < ttl < 60:  # type: ignore[operator]
            raise ValueError(f"ttl must be at least 60 seconds, got {ttl!r}")
        super().__init__(ttl, clock)


class MappingNeedsMemoryType(SimpleManager):
    """Accepts dict inputs but validates them against a schema in which ``memory_type`` is
    required: a dict that leaves it out raises ``ValueError`` instead of naming working
    memory."""

    BREAKS = ("MM-MODEL-001",)

    def request(self, input: Any) -> IMemoryInput:
        if isinstance(input, Mapping) and "memory_type" not in input:
            raise ValueError("memory_type is required")
        return super().request(input)


class ZeroTTLMeansForever(SimpleManager):
    """Accepts ttl=0 (and negatives) and treats them as 'no expiry'."""

    BREAKS = ("MM-TTL-008",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(None if ttl is not None and ttl <= 0 else ttl, clock)


class KeyPerWrite(SimpleManager):
    """Returns a fresh key for every store, like an append-only log's record ID."""

    BREAKS = ("MM-STORE-008",)

    def __init__(self, ttl: float | None = DEFAULT_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self.writes = 0

    def store(self, input: Any) -> str:
        super().store(input)
        self.writes += 1
        return f"record-{self.writes}"


class RejectsForeignInputs(SimpleManager):
    """Type-checks for memspec's own IMemoryInput and refuses anything else."""

    BREAKS = ("MM-INPUT-002", "MM-INPUT-003")

    def request(self, input: Any) -> IMemoryInput:
        if not isinstance(input, IMemoryInput):
            raise TypeError("expected an IMemoryInput")
        return input


class DestructiveRead(SimpleManager):
    """retrieve pops the slot, like a queue."""

    BREAKS = ("MM-RETR-004",)

    def retrieve(self, input: Any) -> list[Any]:
        found = super().retrieve(input)
        self.delete(input)
        return found


class ShortKeyHash(SimpleManager):
    """Keys on a 4-bit hash of the conversation ID, so unrelated conversations collide."""

    BREAKS = ("MM-ISO-001", "MM-STORE-009")

    def key(self, request: IMemoryInput) -> str:
        digest = hashlib.sha256(request.conversation_id.encode("utf-8", "surrogatepass"))
        return f"{request.memory_type.value}|{digest.hexdigest()[:1]}"


class LogsMemoryAtInfo(SimpleManager):
    """Logs every stored item at INFO level. A SHOULD violation: a warning, still conformant."""

    WARNS = ("MM-SEC-002",)

    def store(self, input: Any) -> str:
        request = self.request(input)
        key = super().store(request)
        logger.info("stored %s", self.items_of(request))
        return key


class HangsOnRead(SimpleManager):
    """retrieve never returns, like a client without a socket timeout on a dead server."""

    def retrieve(self, input: Any) -> list[Any]:
        threading.Event().wait()
        return []


class Sluggish(SimpleManager):
    """Correct, but every write takes 20 ms: a whole run needs far more than a minute."""

    def store(self, input: Any) -> str:
        time.sleep(0.02)
        return super().store(input)


class NoClock(SimpleManager):
    """Correct, but with no clock parameter: only real-time TTL checks can judge it."""

    def __init__(self, ttl: float | None = DEFAULT_TTL) -> None:
        super().__init__(ttl, validate_clock(None))


class RealTimeNeverExpires(NoClock):
    """Without a clock, and expiry never actually happens."""

    BREAKS = ("MM-TTL-002",)

    def expired(self, entry: dict[str, Any], now: float) -> bool:
        return False


BROKEN: tuple[type[SimpleManager], ...] = tuple(
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, SimpleManager) and "BREAKS" in cls.__dict__
)
