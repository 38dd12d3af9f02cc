"""Checks along the dimensions real managers break on: scale, sizes, ID lengths, short-hash
keys, foreign input shapes, metadata shapes, failure atomicity, and leaked threads.

Each requirement is judged in its own probe with a witness of its own: the scale check
writes and rewrites thousands of slots on one manager and reads every one back; the size
checks write thousands of items and multi-megabyte values; the ID checks write pairs of IDs
that differ only past a length where keys are commonly cut, or that collide under a known
short hash; the shape checks hand over inputs, items, memory types and metadata the way
other frameworks build them.
"""

from __future__ import annotations

import dataclasses
import math
import string
import threading
import time
from collections.abc import Callable, Iterator
from types import MappingProxyType, SimpleNamespace
from typing import Any

from memspec.catalogue import Profile
from memspec.conformance.calls import (
    WM,
    ReadOnlyMapping,
    expect_read,
    kept_earlier,
    memory_input,
    read,
    read_or_refused,
    write,
)
from memspec.conformance.checks import Check, Context
from memspec.conformance.collisions import COLLISIONS
from memspec.conformance.driver import CallTimeout, Driver
from memspec.conformance.results import CheckFailure, short
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory

__all__ = ["CHECKS", "SCALE"]

#: Live slots the scale check writes, per depth.
SCALE = {"quick": 5_000, "default": 70_000, "thorough": 150_000}

_CHUNK = 1000
_MIB = 1 << 20


def _differs(got: list[str], wanted: list[str]) -> str:
    """Where two item lists first differ, briefly."""
    if len(got) != len(wanted):
        return f"{len(wanted)} items written, {len(got)} read back"
    index = next(i for i, (a, b) in enumerate(zip(got, wanted, strict=True)) if a != b)
    a, b = got[index], wanted[index]
    if len(a) != len(b):
        return f"item {index} written with {len(b)} characters, read back with {len(a)}"
    return f"item {index} differs: expected {short(b, 60)}, got {short(a, 60)}"


def _readback(
    driver: Driver, ids: tuple[str, ...], what: str, conversation_id: str, wanted: list[str]
) -> None:
    got = read(driver, conversation_id)
    if got != wanted:
        raise CheckFailure(ids, f"{what}: {_differs(got, wanted)}")


def _shortened(got: list[str], wanted: list[str]) -> bool:
    """Whether items were dropped from ``wanted``, or cut short in place: the witnesses of a
    silent size bound. Items reordered, altered or added in a whole write are another fault."""
    if len(got) != len(wanted):
        return len(got) < len(wanted)
    return all(w.startswith(g) for g, w in zip(got, wanted, strict=True))


def _sized_readback(
    driver: Driver, what: str, conversation_id: str, wanted: list[str], before: list[str]
) -> None:
    """Blame by what came back after a write of ``wanted`` over ``before``: MM-STORE-003
    when the earlier content is still there (kept, or with the write after it), MM-LIMIT-005
    when the write came back shortened, and MM-STORE-002 when it came back reordered, altered
    or added to, which no size bound explains."""
    got = read(driver, conversation_id)
    if got == wanted:
        return
    if kept_earlier(got, wanted, before):
        blamed = "MM-STORE-003"
    elif _shortened(got, wanted):
        blamed = "MM-LIMIT-005"
    else:
        blamed = "MM-STORE-002"
    raise CheckFailure((blamed,), f"{what}: {_differs(got, wanted)}")


def _store_id(
    driver: Driver, conversation_id: str, text: str, memory_type: ConversationMemoryType = WM
) -> Any:
    """``store`` in a probe about keys: an exception there is a refusal of the ID itself,
    which contradicts MM-ISO-003 (IDs are arbitrary non-empty strings), not the probe's
    requirement."""
    try:
        return write(driver, "store", conversation_id, text, memory_type=memory_type)
    except CallTimeout:
        raise
    except Exception as exc:
        raise CheckFailure(
            ("MM-ISO-003",),
            f"store with the conversation ID {short(conversation_id, 60)} raised "
            f"{type(exc).__name__}: {short(str(exc), 200)}; conversation IDs are arbitrary "
            "non-empty strings",
        ) from exc


# -- MM-LIMIT-003: scale ----------------------------------------------------------------------


#: The share of its time the scale check may spend storing.
_SCALE_SHARE = 0.2


def _scale(context: Context) -> None:
    """MM-LIMIT-003: thousands of slots stored, updated and read back on one manager. A
    manager whose calls are slow gets fewer slots, as many as fit in the check's time, never
    a failure for its speed; how many were checked is a measured limit."""
    count = SCALE[context.depth]
    ids = ("MM-LIMIT-003",)
    with context.probe(*ids, what=f"{count} slots on one manager"):
        driver = context.manager(ttl=3600)
        names = [f"scale-{n}" for n in range(count)]
        # Stores go on while they fit in a fifth of the check's time: updating and reading
        # back cost about twice what storing did each (more for a manager whose calls slow
        # down as slots accumulate), and the rest is for closing.
        stop = time.monotonic() + context.check_timeout * _SCALE_SHARE
        stored = 0
        while stored < count and (stored == 0 or time.monotonic() < stop):
            chunk = names[stored : stored + _CHUNK]
            driver.call_many("store", [memory_input(n, f"{n}/a") for n in chunk])
            stored += len(chunk)
        count, names = stored, names[:stored]
        context.outcome.note_limit("live_slots", count)
        for start in range(0, count, _CHUNK):
            chunk = names[start : start + _CHUNK]
            driver.call_many("update", [memory_input(n, f"{n}/b") for n in chunk])
        for start in range(0, count, _CHUNK):
            chunk = names[start : start + _CHUNK]
            results = driver.call_many("retrieve", [memory_input(n) for n in chunk])
            for offset, (name, result) in enumerate(zip(chunk, results, strict=True)):
                got = [getattr(item, "working_memory", item) for item in result or ()]
                if got != [f"{name}/b"]:
                    raise CheckFailure(
                        ids,
                        f"{count} slots were stored and then updated on one manager; slot "
                        f"{start + offset} of them ({name!r}) reads {short(got, 80)}, expected "
                        f"{[f'{name}/b']!r}",
                    )


# -- MM-LIMIT-005 / MM-FID-004: sizes ---------------------------------------------------------

#: What every manager must accept in one write (MM-LIMIT-005, MM-FID-004): bytes of UTF-8 in
#: all, and items.
FLOOR_BYTES = 256 * 1024
#: The longest conversation ID every manager must accept, in bytes of UTF-8 (MM-LIMIT-004).
ID_FLOOR_BYTES = 1024
FLOOR_ITEMS = 1000


def _floor_text(size: int, head: str = "") -> str:
    """A text of exactly ``size`` bytes of UTF-8 mixing one-, two- and four-byte characters."""
    unit = "memory é\U0001f600 "  # 14 bytes
    body = head + unit * ((size - len(head.encode())) // len(unit.encode()))
    return body + "x" * (size - len(body.encode()))


def _kept_or_refused(
    driver: Driver, what: str, conversation_id: str, wanted: list[str], before: list[str]
) -> None:
    """A write past the floor: kept whole, or refused with ``ValueError`` leaving ``before``."""
    try:
        write(driver, "store", conversation_id, *wanted)
    except ValueError:
        _readback(driver, ("MM-LIMIT-005",), f"after {what} was refused", conversation_id, before)
    else:
        _sized_readback(driver, what, conversation_id, wanted, before)


def _sizes(context: Context) -> None:
    with context.probe("MM-LIMIT-005", what="writes at the floor"):
        driver = context.manager(ttl=3600)
        for count in (17, 300, FLOOR_ITEMS):
            wanted = [f"item {n}" for n in range(count)]
            write(driver, "store", f"items-{count}", *wanted)
            _sized_readback(driver, f"a write of {count} items", f"items-{count}", wanted, [])
        # 16 items of 16 KiB each: the floor's total, spread over several items.
        wanted = [_floor_text(FLOOR_BYTES // 16, f"{n:02} ") for n in range(16)]
        write(driver, "store", "total", *wanted)
        _sized_readback(driver, "a write of 16 items of 16 KiB", "total", wanted, [])
    with context.probe("MM-FID-004", what="a 256 KiB item"):
        driver = context.manager(ttl=3600)
        big = _floor_text(FLOOR_BYTES)
        write(driver, "store", "big", big)
        _readback(driver, ("MM-FID-004",), "an item of 256 KiB", "big", [big])
    with context.probe("MM-LIMIT-005", what="writes past the floor"):
        # Past the floor a write is kept whole or refused, never cut.
        driver = context.manager(ttl=3600)
        write(driver, "store", "beyond", "kept")
        for count in (10_000, 40_000):
            wanted = [f"item {n}" for n in range(count)]
            _kept_or_refused(driver, f"a write of {count:,} items", "beyond", wanted, ["kept"])
            write(driver, "store", "beyond", "kept")
        write(driver, "store", "large", "kept")
        for size in (_MIB + _MIB // 2, 4 * _MIB, 8 * _MIB):
            text = _floor_text(size)
            _kept_or_refused(driver, f"an item of {size / _MIB:g} MiB", "large", [text], ["kept"])
            write(driver, "store", "large", "kept")


# -- MM-ISO-003 / MM-LIMIT-004: ID lengths ----------------------------------------------------


def _pairs(length: int) -> Iterator[tuple[str, str]]:
    """IDs of ``length`` characters that differ only at the end, or only at the start."""
    body = (string.ascii_lowercase * (length // 26 + 1))[: length - 1]
    yield body + "1", body + "2"
    yield "1" + body, "2" + body


def _distinct(driver: Driver, ids: tuple[str, ...], first: str, second: str, label: str) -> None:
    write(driver, "store", first, "first")
    write(driver, "store", second, "second")
    for conversation_id, wanted, other in (
        (first, ["first"], ["second"]),
        (second, ["second"], ["first"]),
    ):
        got = read(driver, conversation_id)
        if got == other:  # the witness of a merge: one ID reads the other's data
            raise CheckFailure(
                ids,
                f"{label}: two IDs of {len(first)} characters that differ only in their "
                f"{'last' if first[0] == second[0] else 'first'} character share a slot "
                f"(expected {wanted!r}, got {got!r})",
            )


def _id_lengths(context: Context) -> None:
    with context.probe("MM-ISO-003", what="IDs up to 1 KiB"):
        driver = context.manager(ttl=3600)
        for length in (64, 255, 256, 1024):
            for first, second in _pairs(length):
                _distinct(driver, ("MM-ISO-003",), first, second, "IDs up to 1 KiB")
        blanks = (" ", "  ", "\t", "\n", " \u3000 ")
        for n, blank in enumerate(blanks):
            write(driver, "store", blank, f"blank {n}")
        for n, blank in enumerate(blanks):
            got = read(driver, blank)
            if got != [f"blank {n}"]:
                raise CheckFailure(
                    ("MM-ISO-003",),
                    f"the white-space-only ID {blank!r} is a conversation like any other: "
                    f"expected {[f'blank {n}']!r}, got {got!r}",
                )
    with context.probe("MM-LIMIT-004", what="IDs of 1 KiB of UTF-8"):
        driver = context.manager(ttl=3600)
        for unit in ("é", "\U0001f600"):  # two and four bytes: 1,024 bytes in all, or just under
            body = unit * (ID_FLOOR_BYTES // len(unit.encode()) - 1)
            _distinct(driver, ("MM-LIMIT-004",), body + "é", body + "è", "IDs of 1 KiB of UTF-8")
    with context.probe("MM-LIMIT-004", what="IDs past the floor"):
        # Past the floor an ID is a conversation of its own or refused, never cut to another.
        driver = context.manager(ttl=3600)
        for length in (4096, 16_384, 65_536, 100_000):
            for first, second in _pairs(length):
                _distinct_or_refused(driver, first, second)


def _distinct_or_refused(driver: Driver, first: str, second: str) -> None:
    """Two long IDs that differ in one character: each refused with ``ValueError`` (and then
    reading nothing), or a slot of its own."""
    accepted = []
    for conversation_id, text in ((first, "first"), (second, "second")):
        try:
            write(driver, "store", conversation_id, text)
        except ValueError:
            got = read_or_refused(driver, conversation_id)
            if got:
                raise CheckFailure(
                    ("MM-LIMIT-004",),
                    f"a store of an ID of {len(conversation_id)} characters was refused, yet "
                    f"the ID then reads {short(got)}",
                ) from None
        else:
            accepted.append((conversation_id, text))
    for conversation_id, text in accepted:
        got = read(driver, conversation_id)
        if got != [text]:
            raise CheckFailure(
                ("MM-LIMIT-004",),
                f"two IDs of {len(conversation_id)} characters that differ in one character "
                f"share a slot (expected {[text]!r}, got {got!r}); refuse IDs over the bound "
                "with ValueError instead",
            )


def _long_keys(context: Context) -> None:
    with context.probe("MM-STORE-009", what="long IDs"):
        driver = context.manager(ttl=3600)
        for length in (64, 255, 256, 1024, 4096, 16_384, 65_536):
            for first, second in _pairs(length):
                if length <= 1024:
                    key = _store_id(driver, first, "first")
                    other = _store_id(driver, second, "second")
                else:  # refusing an ID this long is MM-LIMIT-004's to judge, not a key's
                    try:
                        key = write(driver, "store", first, "first")
                        other = write(driver, "store", second, "second")
                    except ValueError:
                        return
                if key == other:
                    raise CheckFailure(
                        ("MM-STORE-009",),
                        f"two IDs of {length} characters that differ in one character got "
                        f"the same key {short(key, 80)}",
                    )


# -- MM-ISO-002: memory types ------------------------------------------------------------


def _memory_types(context: Context) -> None:
    """MM-ISO-002 through stores and updates, MM-DEL-002 through deletes, of one
    conversation's three memory types: a write to one leaves the others reading as they
    read just before it (what the write did to its own slot is its operation's business)."""
    types = list(ConversationMemoryType)
    driver = context.manager(ttl=3600)

    def others_unchanged(
        written: ConversationMemoryType, change: Callable[[], object], what: str, blamed: str
    ) -> None:
        before = {t: read(driver, "typed", t) for t in types if t is not written}
        change()
        for memory_type, wanted in before.items():
            got = read(driver, "typed", memory_type)
            if got != wanted:
                raise CheckFailure(
                    (blamed,),
                    f"{what} {written.name} changed the {memory_type.name} slot of the same "
                    f"conversation from {wanted!r} to {got!r}",
                )

    with context.probe("MM-ISO-002", what="the memory types of one conversation"):
        for operation in ("store", "update"):
            for memory_type in types:
                others_unchanged(
                    memory_type,
                    lambda o=operation, t=memory_type: write(  # type: ignore[misc]
                        driver, o, "typed", f"{o} {t.value}", memory_type=t
                    ),
                    f"{operation} of",
                    "MM-ISO-002",
                )
    with context.probe("MM-DEL-002", what="deleting IDs that look like patterns"):
        # Glob (Redis SCAN MATCH, fnmatch) and SQL LIKE patterns, with IDs each one matches.
        for pattern, matched in (
            ("conv*", ("conv1", "conversation", "conv")),
            ("conv?", ("conv1", "convX")),
            ("conv[12]", ("conv1", "conv2")),
            ("conv%", ("conv1", "conversation")),
            ("conv_", ("conv1", "convX")),
            ("*", ("conv1",)),
        ):
            for conversation_id in (pattern, *matched):
                write(driver, "store", conversation_id, conversation_id)
            driver.delete(memory_input(pattern))
            for conversation_id in matched:
                got = read(driver, conversation_id)
                if got != [conversation_id]:
                    raise CheckFailure(
                        ("MM-DEL-002",),
                        f"deleting conversation {pattern!r} changed conversation "
                        f"{conversation_id!r} from {[conversation_id]!r} to {got!r}: an ID "
                        "used as a pattern",
                    )
    with context.probe("MM-DEL-002", what="deleting one memory type"):
        for memory_type in types:
            write(driver, "store", "typed", memory_type.value, memory_type=memory_type)
        for memory_type in types:
            others_unchanged(
                memory_type,
                lambda t=memory_type: driver.delete(  # type: ignore[misc]
                    memory_input("typed", memory_type=t)
                ),
                "delete of",
                "MM-DEL-002",
            )


# -- MM-ISO-001 / MM-STORE-009: short-hash keys -----------------------------------------------


def _short_hashes(context: Context) -> None:
    with context.probe("MM-ISO-001", what="IDs that collide under short hashes"):
        driver = context.manager(ttl=3600)
        for collision in COLLISIONS:
            _store_id(driver, collision.first, "first")
            _store_id(driver, collision.second, "second")
            got = read(driver, collision.first)
            if got == ["second"]:  # the witness of a merge: one ID reads the other's data
                raise CheckFailure(
                    ("MM-ISO-001",),
                    f"conversations {collision.first!r} and {collision.second!r}, whose "
                    f"{collision.hash} hashes are equal, share a slot (expected ['first'], got "
                    f"{got!r})",
                )
    joined = _joined_pairs()
    with context.probe("MM-ISO-001", what="IDs that collide when joined with a memory type"):
        driver = context.manager(ttl=3600)
        for (first, first_type), (second, second_type) in joined:
            _store_id(driver, first, "first", first_type)
            _store_id(driver, second, "second", second_type)
            got = read(driver, first, first_type)
            if got == ["second"]:
                raise CheckFailure(
                    ("MM-ISO-001",),
                    f"slot ({first!r}, {first_type.name}) reads the data of slot ({second!r}, "
                    f"{second_type.name}): a key joining ID and memory type with a separator "
                    "the ID may contain",
                )
    with context.probe("MM-STORE-009", what="IDs that collide when joined with a memory type"):
        driver = context.manager(ttl=3600)
        for (first, first_type), (second, second_type) in joined:
            key = _store_id(driver, first, "x", first_type)
            other = _store_id(driver, second, "y", second_type)
            if key == other:
                raise CheckFailure(
                    ("MM-STORE-009",),
                    f"slots ({first!r}, {first_type.name}) and ({second!r}, {second_type.name}) "
                    f"got the same key {key!r}",
                )
    with context.probe("MM-STORE-009", what="IDs that collide under short hashes"):
        driver = context.manager(ttl=3600)
        for collision in COLLISIONS:
            first = _store_id(driver, collision.first, "x")
            second = _store_id(driver, collision.second, "y")
            if first == second:
                raise CheckFailure(
                    ("MM-STORE-009",),
                    f"conversations {collision.first!r} and {collision.second!r} ("
                    f"{collision.hash} collision) got the same key {first!r}",
                )


def _joined_pairs() -> list[
    tuple[tuple[str, ConversationMemoryType], tuple[str, ConversationMemoryType]]
]:
    """Slot pairs that a key joining ID and memory type with a separator merges: the ID
    carries the separator and the other slot's memory type, before or after it."""
    pairs = []
    for separator in (":", "|", "/", "_", "-", "#", ".", " "):
        for memory_type in (
            ConversationMemoryType.SHORT_TERM_MEMORY,
            ConversationMemoryType.LONG_TERM_MEMORY,
        ):
            for name in (memory_type.value, memory_type.value.lower()):
                pairs.append((("conv", memory_type), (f"conv{separator}{name}", WM)))
                pairs.append((("conv", memory_type), (f"{name}{separator}conv", WM)))
                pairs.append((("conv", WM), (f"conv{separator}{WM.value}", memory_type)))
    return pairs


# -- foreign input shapes -----------------------------------------------------------------


@dataclasses.dataclass
class _DataclassItem:
    working_memory: str


@dataclasses.dataclass
class _DataclassInput:
    conversation_id: str
    memory_type: Any = "WORKING_MEMORY"
    data: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    query: str | None = None
    memory_id: str | None = None
    limit: int | None = 5
    filters: dict[str, Any] | None = None


class _SlotsInput:
    """An attrs-like input: fields in ``__slots__``, no ``__dict__``."""

    __slots__ = (
        "conversation_id",
        "data",
        "filters",
        "limit",
        "memory_id",
        "memory_type",
        "metadata",
        "query",
    )

    def __init__(self, conversation_id: str, memory_type: Any, data: Any) -> None:
        self.conversation_id = conversation_id
        self.memory_type = memory_type
        self.data = data
        self.metadata = None
        self.query = None
        self.memory_id = None
        self.limit = 5
        self.filters = None


def _shapes(context: Context) -> None:
    with context.probe("MM-INPUT-002", what="inputs of other frameworks"):
        driver = context.manager(ttl=3600)
        makers: dict[str, Any] = {
            "a dataclass": lambda cid, mt, texts: _DataclassInput(
                cid, mt, [_DataclassItem(t) for t in texts] or None
            ),
            "a __slots__ object": lambda cid, mt, texts: _SlotsInput(
                cid, mt, [SimpleNamespace(working_memory=t) for t in texts] or None
            ),
        }
        for kind, make in makers.items():
            for ours in ConversationMemoryType:
                slot = f"shape {kind}"
                member = ours.value  # a plain str: enums are MM-MODEL-003's business
                what = f"{kind} with memory_type {member!r}"
                driver.store(make(slot, member, ["one", "two"]))
                _expect_texts(
                    "MM-INPUT-002",
                    f"{what}, read with IMemoryInput",
                    driver,
                    slot,
                    ours,
                    ["one", "two"],
                )
                driver.update(make(slot, member, ["three"]))
                _expect_texts("MM-INPUT-002", f"{what}, updated", driver, slot, ours, ["three"])
                got = driver.retrieve(make(slot, member, []))
                texts = [getattr(i, "working_memory", None) for i in got or ()]
                if texts != ["three"]:
                    raise CheckFailure(
                        ("MM-INPUT-002",), f"{what}: retrieve expected ['three'], got {texts!r}"
                    )
                driver.delete(make(slot, member, []))
                _expect_texts("MM-INPUT-002", f"{what}, deleted", driver, slot, ours, [])
    with context.probe("MM-INPUT-004", what="memory types by lenient names"):
        driver = context.manager(ttl=3600)
        for wrong in ("working_memory", " Long_Term_Memory ", "WORKING_MEMORY ", "Working Memory"):
            request = _SlotsInput("lenient", wrong, [SimpleNamespace(working_memory="x")])
            try:
                driver.store(request)
            except (ValueError, TypeError):
                continue
            raise CheckFailure(
                ("MM-INPUT-004",),
                f"store accepted memory_type={wrong!r}, which names no memory type (the "
                "values are exact: WORKING_MEMORY, SHORT_TERM_MEMORY, LONG_TERM_MEMORY)",
            )
    driver = context.manager(ttl=3600)
    try:
        driver.store({"conversation_id": "mapping", "data": [{"working_memory": "m"}]})
    except CallTimeout:
        raise
    except Exception as exc:
        named = {
            "conversation_id": "mapping",
            "memory_type": WM.value,
            "data": [{"working_memory": "m"}],
        }
        try:
            driver.store(named)
        except CallTimeout:
            raise
        except Exception:
            context.outcome.skip(
                ("MM-MODEL-001",),
                f"mappings are refused ({type(exc).__name__}), so an omitted field cannot be "
                "judged",
            )
            return
        context.outcome.fail(
            CheckFailure(
                ("MM-MODEL-001",),
                f"a dict input naming memory_type WORKING_MEMORY is accepted, but the same dict "
                f"without memory_type raised {type(exc).__name__}: {short(str(exc), 200)}; an "
                "omitted memory_type names the working-memory slot",
            ).failure
        )
        return
    with context.probe("MM-MODEL-001", what="a mapping without memory_type"):
        _expect_texts(
            "MM-MODEL-001", "a dict input without memory_type", driver, "mapping", WM, ["m"]
        )
    with context.probe("MM-STORE-008", what="a mapping without memory_type"):
        omitted = driver.store({"conversation_id": "keyed", "data": [{"working_memory": "k"}]})
        named = write(driver, "store", "keyed", "k")
        if omitted != named:
            raise CheckFailure(
                ("MM-STORE-008",),
                f"the working-memory slot of 'keyed' got key {omitted!r} from a dict without "
                f"memory_type and {named!r} from an IMemoryInput naming WORKING_MEMORY",
            )
    with context.probe("MM-STORE-007", what="mapping items"):
        item = {"working_memory": "before"}
        items: list[dict[str, str]] = [item]
        held = {
            "conversation_id": "held",
            "memory_type": WM.value,
            "data": items,
            "metadata": {"k": "v"},  # plain: refusing richer metadata is MM-META-003
        }
        driver.store(held)
        item["working_memory"] = "after"
        items.append({"working_memory": "extra"})
        _expect_texts(
            "MM-STORE-007",
            "a dict input whose item dict the caller changed after store",
            driver,
            "held",
            WM,
            ["before"],
        )


def _expect_texts(
    requirement: str,
    what: str,
    driver: Driver,
    conversation_id: str,
    memory_type: ConversationMemoryType,
    wanted: list[str],
) -> None:
    expect_read((requirement,), what, driver, conversation_id, wanted, memory_type)


# -- MM-META-001: metadata shapes and keys ----------------------------------------------------


#: Metadata keys that careless record layouts put next to their own fields.
_RECORD_KEYS = (
    "items",
    "data",
    "expires_at",
    "expiry",
    "ttl",
    "metadata",
    "working_memory",
    "memory_type",
    "conversation_id",
    "created_at",
    "last_update",
    "key",
    "value",
    "version",
)


def _metadata(context: Context) -> None:
    ids = ("MM-META-001",)
    with context.probe(*ids, what="metadata"):
        driver = context.manager(ttl=3600)
        values: list[Any] = [0, -1, None, "", [], {}, "x", 1.5, True, [{"a": 1}]]
        shapes: dict[str, Any] = {
            "a MappingProxyType": MappingProxyType({"source": "proxy", "n": [1, 2]}),
            "a custom Mapping": ReadOnlyMapping({"source": "custom", "nested": {"a": None}}),
        }
        for n, key in enumerate(_RECORD_KEYS):
            shapes[f"metadata key {key!r}"] = {key: values[n % len(values)]}
        shapes["every record key at once"] = dict.fromkeys(_RECORD_KEYS, 0)
        for n, (what, metadata) in enumerate(shapes.items()):
            slot = f"meta-{n}"
            request = IMemoryInput.model_construct(
                conversation_id=slot,
                memory_type=WM,
                data=[IWorkingMemory(working_memory="a"), IWorkingMemory(working_memory="b")],
                metadata=metadata,
                query=None,
                memory_id=None,
                limit=5,
                filters=None,
            )
            driver.store(request)
            _expect_texts("MM-META-001", f"store with {what}", driver, slot, WM, ["a", "b"])
            update = request.model_copy(update={"data": [IWorkingMemory(working_memory="c")]})
            driver.update(update)
            _expect_texts("MM-META-001", f"update with {what}", driver, slot, WM, ["c"])


# -- MM-ERR-003 / MM-FID-003: failure atomicity -----------------------------------------------


def _atomicity(context: Context) -> None:
    driver = context.manager(ttl=3600)
    cases: list[tuple[tuple[str, ...], str, str, Any]] = [
        (("MM-ERR-003",), "store", "metadata with a set", {"s": {1, 2}}),
        (("MM-ERR-003",), "store", "metadata with NaN", {"n": math.nan}),
        (("MM-ERR-003",), "update", "metadata with an object", {"o": object()}),
    ]
    for ids, operation, what, metadata in cases:
        with context.probe(*ids, what=what):
            slot = f"atomic {what}"
            write(driver, "store", slot, "kept")
            before = read(driver, slot)  # what the slot holds, whatever store's own faults
            try:
                write(driver, operation, slot, "changed", metadata=metadata)
            except Exception:
                got = read(driver, slot)
                if got != before:
                    raise CheckFailure(
                        ids,
                        f"{operation} with {what} raised, yet the slot changed: expected "
                        f"{before!r}, got {got!r}",
                    ) from None
    for operation in ("store", "update"):
        with context.probe("MM-FID-003", "MM-ERR-003", what=f"{operation} of a lone surrogate"):
            slot = f"atomic surrogate {operation}"
            write(driver, "store", slot, "kept", "also kept")
            before = read(driver, slot)  # a store that drops items is MM-STORE-002's fault
            try:
                write(driver, operation, slot, "fine", "bad \ud800", "fine too")
            except Exception:
                got = read(driver, slot)
                if got != before:
                    raise CheckFailure(
                        ("MM-FID-003", "MM-ERR-003"),
                        f"{operation} of items with a lone surrogate raised, yet the slot "
                        f"changed: expected {before!r}, got {got!r}",
                    ) from None
    for ids, place in ((("MM-FID-003", "MM-ERR-003"), "id"),):
        with context.probe(*ids, what="a lone surrogate in the ID"):
            bad = f"id-{place}-\ud800"
            try:
                write(driver, "store", bad, "x")
            except Exception:
                got = read_or_refused(driver, bad, (Exception,))
                if got:
                    raise CheckFailure(
                        ids,
                        f"store with the ID {bad!r} raised, yet that ID then reads {got!r}",
                    ) from None
                continue
            got = read(driver, bad)
            if got != ["x"]:
                raise CheckFailure(
                    ("MM-FID-003",), f"the ID {bad!r} was accepted but reads {got!r}"
                )


# -- MM-RES-001: threads ------------------------------------------------------------------


def _threads(context: Context) -> None:
    from memspec.conformance.isolation import leaked_threads

    with context.probe("MM-RES-001", what="threads"):
        before = {t.ident for t in threading.enumerate() if t.ident is not None}
        for _ in range(3):
            driver = context.manager(ttl=3600)
            write(driver, "store", "t", "x")
            read(driver, "t")
            driver.delete(memory_input("t"))
        context.close()
        leaked = leaked_threads(before)
        if leaked:
            raise CheckFailure(
                ("MM-RES-001",),
                "after three managers were used and closed, threads they started are still "
                f"running: {', '.join(sorted(repr(t.name) for t in leaked))}",
            )


CHECKS: tuple[Check, ...] = (
    Check(
        "dimension:scale",
        Profile.CORE,
        ("MM-LIMIT-003", "MM-RES-002"),
        _scale,
        "thousands of slots on one manager, every one read back",
    ),
    Check(
        "dimension:sizes",
        Profile.CORE,
        ("MM-LIMIT-005", "MM-FID-004", "MM-STORE-002", "MM-STORE-003"),
        _sizes,
        "thousands of items per write and multi-megabyte items",
    ),
    Check(
        "dimension:id-lengths",
        Profile.CORE,
        ("MM-ISO-003", "MM-LIMIT-004"),
        _id_lengths,
        "IDs that differ only past common cut-off lengths, and blank IDs",
    ),
    Check(
        "dimension:memory-types",
        Profile.CORE,
        ("MM-ISO-002", "MM-DEL-002"),
        _memory_types,
        "each memory type of a conversation is a slot of its own",
    ),
    Check(
        "dimension:long-keys",
        Profile.CORE,
        ("MM-STORE-009",),
        _long_keys,
        "IDs that differ only past common cut-off lengths get different keys",
    ),
    Check(
        "dimension:short-hashes",
        Profile.CORE,
        ("MM-ISO-001", "MM-STORE-009"),
        _short_hashes,
        "IDs that collide under common short hashes",
    ),
    Check(
        "dimension:input-shapes",
        Profile.CORE,
        ("MM-INPUT-002", "MM-INPUT-004", "MM-MODEL-001", "MM-STORE-008", "MM-STORE-007"),
        _shapes,
        "dataclass, __slots__ and mapping inputs, another enum class, lenient names",
    ),
    Check(
        "dimension:metadata",
        Profile.CORE,
        ("MM-META-001",),
        _metadata,
        "metadata of any Mapping type and with keys a record layout uses",
    ),
    Check(
        "dimension:atomicity",
        Profile.CORE,
        ("MM-ERR-003", "MM-FID-003"),
        _atomicity,
        "a call that raises leaves the slot as it was",
    ),
    Check(
        "resources:threads",
        Profile.CORE,
        ("MM-RES-001",),
        _threads,
        "no non-daemon thread outlives a closed manager",
    ),
)
