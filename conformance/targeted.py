"""Targeted checks: what a sequence of JSON steps cannot show.

Mutating the caller's objects after a write or after a read, inputs that are not memspec's
own classes, keys over many unusual IDs, lone surrogates, and what the manager logs.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import random
from collections.abc import Callable, Iterable
from types import MappingProxyType, SimpleNamespace
from typing import Any, TypeVar

from memspec.catalogue import Profile
from memspec.conformance.calls import (
    WM,
    ReadOnlyMapping,
    expect,
    expect_read,
    memory_input,
    read,
    refusal_blame,
    write,
)
from memspec.conformance.checks import Check, Context, Unjudged
from memspec.conformance.driver import CallTimeout, Driver
from memspec.conformance.results import CheckFailure, short
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory

__all__ = ["CHECKS"]

T = TypeVar("T")


def _attempt(blame: Iterable[str], what: str, call: Callable[[], T]) -> T:
    """Run ``call``; an exception from the target fails ``blame`` with ``what`` as context."""
    try:
        return call()
    except CheckFailure:
        raise
    except Exception as exc:
        raise CheckFailure(blame, f"{what} raised {type(exc).__name__}: {exc}") from exc


def _foreign_input(conversation_id: str, *texts: str, memory_type: Any = WM) -> SimpleNamespace:
    """An input that is not an IMemoryInput: a plain object with the same attributes."""
    return SimpleNamespace(
        conversation_id=conversation_id,
        memory_type=memory_type,
        data=[SimpleNamespace(working_memory=text) for text in texts] or None,
        metadata=None,
        query=None,
        memory_id=None,
        limit=5,
        filters=None,
    )


# -- MM-STORE-007 -------------------------------------------------------------------------


def _input_snapshot(context: Context) -> None:
    ids = ("MM-STORE-007",)
    driver = context.manager(ttl=3600)
    for operation in ("store", "update"):
        slot = f"snapshot-{operation}"
        write(driver, "store", slot, "seed")
        data = [IWorkingMemory(working_memory="a"), IWorkingMemory(working_memory="b")]
        metadata: dict[str, Any] = {"tags": ["x"]}
        request = IMemoryInput(conversation_id=slot, data=data, metadata=metadata)
        try:
            driver.call(operation, request)
        except Exception as exc:
            plain = request.model_copy(update={"metadata": None})
            retry = functools.partial(driver.call, operation, plain)
            raise CheckFailure(*refusal_blame(ids, operation, exc, retry)) from exc
        data.append(IWorkingMemory(working_memory="appended later"))
        data[0] = IWorkingMemory(working_memory="replaced later")
        metadata["tags"].append("y")
        expect_read(
            ids, f"{operation}, then the caller changed its data list", driver, slot, ["a", "b"]
        )

    item = SimpleNamespace(working_memory="before")
    foreign = _foreign_input("snapshot-foreign")
    foreign.data = [item]
    _attempt(("MM-INPUT-002",), "store of a plain-object input", lambda: driver.store(foreign))
    item.working_memory = "after"
    foreign.data.append(SimpleNamespace(working_memory="extra"))
    expect_read(
        ids,
        "store of plain-object items, then the caller changed an item",
        driver,
        "snapshot-foreign",
        ["before"],
    )


# -- MM-RETR-003 --------------------------------------------------------------------------


def _output_ownership(context: Context) -> None:
    ids = ("MM-RETR-003",)
    driver = context.manager(ttl=3600)
    write(driver, "store", "owned", "a", "b")
    returned = driver.retrieve(memory_input("owned"))
    if not isinstance(returned, list):
        raise CheckFailure(("MM-RETR-001",), f"retrieve returned {short(returned)}")
    if len(returned) != 2:  # what was stored is MM-STORE-002's business, judged elsewhere
        context.outcome.leave(ids, "the two items stored did not come back as two")
        return
    # Frozen items refuse this, which is fine: then the caller cannot change them at all.
    with contextlib.suppress(Exception):
        returned[0].working_memory = "changed by the caller"
    returned.append(SimpleNamespace(working_memory="appended by the caller"))
    returned.reverse()
    expect_read(ids, "the caller changed what retrieve returned", driver, "owned", ["a", "b"])
    again = driver.retrieve(memory_input("owned"))
    if again is returned:
        raise CheckFailure(ids, "retrieve returned the same list object twice")


# -- MM-INPUT-002 / MM-INPUT-003 ----------------------------------------------------------


class _ForeignMemoryType(enum.StrEnum):
    """Another framework's memory-type enum, with the same values as memspec's."""

    WORKING_MEMORY = "WORKING_MEMORY"
    SHORT_TERM_MEMORY = "SHORT_TERM_MEMORY"


def _all_operations(
    driver: Driver, ids: tuple[str, ...], kind: str, make: Callable[..., Any]
) -> None:
    """Drive store, retrieve, update and delete with inputs built by ``make``, and the same
    with ``IMemoryInput`` on another slot: only a difference between the two is a witness,
    so a fault of an operation itself is left to that operation's requirement."""

    def texts(result: Any) -> list[Any]:
        return [getattr(item, "working_memory", None) for item in result or ()]

    def observe(build: Callable[..., Any], slot: str) -> list[tuple[str, list[Any]]]:
        seen = []
        driver.store(build(slot, "one", "two"))
        seen.append(("store, then retrieve", texts(driver.retrieve(build(slot)))))
        driver.update(build(slot, "three"))
        seen.append(("update, then read", read(driver, slot)))
        driver.delete(build(slot))
        seen.append(("delete, then read", read(driver, slot)))
        return seen

    native = observe(memory_input, f"native {kind}")
    foreign = _attempt(ids, f"operations on a {kind}", lambda: observe(make, f"foreign {kind}"))
    for (step, wanted), (_, got) in zip(native, foreign, strict=True):
        expect(ids, f"with a {kind} input, {step} (as with an IMemoryInput)", got, wanted)


class _PlainEnumType(str, enum.Enum):  # noqa: UP042 - the shape under test
    """Another framework's memory-type enum, the pre-3.11 way: ``str`` and ``Enum``, which
    ``format()`` shows as ``_PlainEnumType.WORKING_MEMORY`` on Python 3.11+."""

    WORKING_MEMORY = "WORKING_MEMORY"
    SHORT_TERM_MEMORY = "SHORT_TERM_MEMORY"
    LONG_TERM_MEMORY = "LONG_TERM_MEMORY"


def _as_users_build(context: Context) -> None:
    """MM-MODEL-004: built as users build it, with ``ttl`` alone and with no arguments (no
    clock, whatever the constructor takes), a manager takes a store, returns it, and takes an
    update and a delete. What it returns is other requirements' business; that it serves is
    this one's."""
    ids = ("MM-MODEL-004",)
    for label, arguments in (("ttl=3600 alone", {"ttl": 3600}), ("no arguments", {})):
        with context.probe(*ids, what=f"a manager built with {label}"):
            driver = context.driver()
            try:
                built = driver.run_sync(
                    lambda a=arguments: context.target.factory(**a),  # type: ignore[misc]
                    label="build",
                )
            except CallTimeout:
                raise
            except Exception as exc:
                raise CheckFailure(
                    ids,
                    f"building the manager with {label}, as its users do, raised "
                    f"{type(exc).__name__}: {short(str(exc), 200)}",
                ) from exc
            driver.attach(built)
            _serves(driver, label)


def _serves(driver: Driver, label: str) -> None:
    """MM-MODEL-004's witness: an operation of a manager built with ``label`` that raises,
    or a read right after a store that returns nothing."""
    ids = ("MM-MODEL-004",)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("store", lambda: write(driver, "store", "as-built", "x")),
        ("retrieve", lambda: read(driver, "as-built")),
        ("update", lambda: write(driver, "update", "as-built", "y")),
        ("delete", lambda: driver.delete(memory_input("as-built"))),
    ]
    for operation, step in steps:
        try:
            result = step()
        except (CallTimeout, CheckFailure):
            raise
        except Exception as exc:
            raise CheckFailure(
                ids,
                f"a manager built with {label} raised {type(exc).__name__} on {operation}: "
                f"{short(str(exc), 200)}; it works only when built with arguments its users "
                "do not pass",
            ) from exc
        if operation == "retrieve" and not result:
            raise CheckFailure(
                ids, f"a manager built with {label} returned nothing right after a store"
            )


def _native_inputs(context: Context) -> None:
    """MM-INPUT-001: the four operations take memspec's own input type without raising."""
    with context.probe("MM-INPUT-001", what="IMemoryInput inputs"):
        driver = context.manager(ttl=3600)
        for memory_type in ConversationMemoryType:
            write(driver, "store", "native", "x", memory_type=memory_type)
            driver.retrieve(memory_input("native", memory_type=memory_type))
            write(driver, "update", "native", "y", memory_type=memory_type)
            driver.delete(memory_input("native", memory_type=memory_type))


def _empty_writes(context: Context) -> None:
    """MM-STORE-001 / MM-UPD-001: a write without items raises ValueError, changes nothing."""
    driver = context.manager(ttl=3600)
    for operation, requirement in (("store", "MM-STORE-001"), ("update", "MM-UPD-001")):
        with context.probe(requirement, what=f"{operation} without items"):
            empties: tuple[list[IWorkingMemory] | None, ...] = (None, [])
            for data in empties:
                slot = f"empty {operation} {data!r}"
                write(driver, "store", slot, "kept")
                request = IMemoryInput(conversation_id=slot, data=data)
                try:
                    driver.call(operation, request)
                except ValueError:
                    pass
                else:
                    raise CheckFailure(
                        (requirement,), f"{operation} with data={data!r} did not raise ValueError"
                    )
                expect_read(
                    (requirement,),
                    f"after {operation} with data={data!r} was refused",
                    driver,
                    slot,
                    ["kept"],
                )


def _repeat_reads(context: Context) -> None:
    """MM-RETR-004: reads change nothing; only a difference between reads is a witness."""
    with context.probe("MM-RETR-004", what="repeated reads"):
        driver = context.manager(ttl=3600)
        write(driver, "store", "read often", "a", "b")
        first = read(driver, "read often")
        for n in range(2, 6):
            again = read(driver, "read often")
            if again != first:
                raise CheckFailure(
                    ("MM-RETR-004",),
                    f"retrieve number {n} of one slot returned {again!r}; the first returned "
                    f"{first!r} and nothing was written in between",
                )


def _accepted(context: Context, driver: Driver, request: Any) -> Any:
    """Store a plain-object input; ``None`` (its probe's requirements left unjudged) when the
    manager refuses plain objects at all, which is MM-INPUT-002's business."""
    try:
        return driver.store(request)
    except Exception as exc:
        context.outcome.leave(
            ("MM-MODEL-003", "MM-STORE-008"),
            f"plain-object inputs are refused ({type(exc).__name__}), so other enums cannot "
            "be tried",
        )
        return None


def _foreign_inputs(context: Context) -> None:
    driver = context.manager(ttl=3600)
    with context.probe("MM-INPUT-002", what="plain-object inputs"):
        _all_operations(driver, ("MM-INPUT-002",), "plain object", _foreign_input)
    members = [*_ForeignMemoryType, *_PlainEnumType]
    with context.probe("MM-MODEL-003", what="other frameworks' memory-type enums"):
        for member in members:
            slot = f"typed {type(member).__name__}"
            ours = ConversationMemoryType(member.value)
            write(driver, "store", slot, "native", memory_type=ours)
            if not _accepted(context, driver, _foreign_input(slot, "foreign", memory_type=member)):
                return
            expect_read(
                ("MM-MODEL-003",),
                f"{type(member).__name__}.{member.name}, a str equal to {member.value!r}, names "
                "the same slot as the value",
                driver,
                slot,
                ["foreign"],
                ours,
            )
    with context.probe("MM-STORE-008", what="other frameworks' memory-type enums"):
        for member in members:
            slot = f"keyed {type(member).__name__}"
            ours = ConversationMemoryType(member.value)
            native = write(driver, "store", slot, "native", memory_type=ours)
            foreign = _accepted(
                context, driver, _foreign_input(slot, "foreign", memory_type=member)
            )
            if foreign is None:
                return
            if native != foreign:
                raise CheckFailure(
                    ("MM-STORE-008",),
                    f"one slot got key {native!r} when its memory type was given as "
                    f"{ours!r} and {foreign!r} when given as {type(member).__name__}."
                    f"{member.name}",
                )


def _mapping_inputs(context: Context) -> None:
    def fields(conversation_id: str, *texts: str) -> dict[str, Any]:
        values: dict[str, Any] = {"conversation_id": conversation_id, "memory_type": WM.value}
        if texts:
            values["data"] = [{"working_memory": text} for text in texts]
        return values

    driver = context.manager(ttl=3600)
    kinds: dict[str, Callable[..., Any]] = {
        "dict": fields,
        "MappingProxyType": lambda *args: MappingProxyType(fields(*args)),
        "read-only Mapping": lambda *args: ReadOnlyMapping(fields(*args)),
    }
    for kind, make in kinds.items():
        _all_operations(driver, ("MM-INPUT-003",), kind, make)


# -- MM-STORE-004..006 --------------------------------------------------------------------

_ID_ALPHABET = "aA:* _-./\\%{}[]'\"\t\x00éE\u0301ß\u00dfİı\u4f1a\U0001f600"


def _keys(context: Context) -> None:
    driver = context.manager(ttl=3600)
    rng = random.Random(context.seed)
    ids = {"k"} | {
        "".join(rng.choice(_ID_ALPHABET) for _ in range(rng.randint(1, 12))) for _ in range(60)
    }
    seen: dict[str, tuple[str, ConversationMemoryType]] = {}
    for conversation_id in sorted(ids):
        for memory_type in ConversationMemoryType:
            slot = (conversation_id, memory_type)
            key = driver.store(memory_input(conversation_id, "v", memory_type=memory_type))
            if not isinstance(key, str) or not key:
                raise CheckFailure(("MM-STORE-004",), f"store of {slot!r} returned {key!r}")
            if key in seen:
                raise CheckFailure(
                    ("MM-STORE-009",), f"slots {seen[key]!r} and {slot!r} share key {key!r}"
                )
            seen[key] = slot
            again = driver.store(memory_input(conversation_id, "w", memory_type=memory_type))
            if again != key:
                raise CheckFailure(
                    ("MM-STORE-008",), f"slot {slot!r} got key {key!r}, then {again!r}"
                )


# -- MM-FID-003 ---------------------------------------------------------------------------


def _lone_surrogates(context: Context) -> None:
    driver = context.manager(ttl=3600)
    write(driver, "store", "surrogate", "kept")
    text = "before \ud800 after"
    try:
        write(driver, "store", "surrogate", text)
    except (ValueError, TypeError):
        expect_read(
            ("MM-FID-003", "MM-ERR-003"), "a refused lone surrogate", driver, "surrogate", ["kept"]
        )
        return
    except Exception as exc:
        raise CheckFailure(
            ("MM-FID-003",),
            f"a lone surrogate must be kept exactly or refused with ValueError/TypeError; "
            f"store raised {type(exc).__name__}: {exc}",
        ) from exc
    expect_read(("MM-FID-003",), "a stored lone surrogate", driver, "surrogate", [text])


# -- MM-SEC-002 ---------------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _quiet_logs(context: Context) -> None:
    canary = f"memspec-canary-{random.Random(context.seed).getrandbits(64):x}"
    root = logging.getLogger()
    handler, level = _Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    failed: Exception | None = None
    try:
        driver = context.manager(ttl=3600)
        write(driver, "store", "logged", f"{canary} stored")
        write(driver, "update", "logged", f"{canary} updated")
        read(driver, "logged")
        driver.delete(memory_input("logged"))
    except CallTimeout:
        raise
    except Exception as exc:  # what the calls raise is other checks' business
        failed = exc
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    for record in handler.records:
        if record.levelno >= logging.INFO and canary in record.getMessage():
            raise CheckFailure(
                ("MM-SEC-002",),
                f"logger {record.name!r} logged memory content at {record.levelname}: "
                f"{short(record.getMessage())}",
            )
    if failed is not None:
        raise Unjudged(
            f"the calls raised {type(failed).__name__} before they were all made, and logged "
            "no memory content meanwhile"
        )


CHECKS: tuple[Check, ...] = (
    Check(
        "targeted:repeat-reads",
        Profile.CORE,
        ("MM-RETR-004",),
        _repeat_reads,
        "reading a slot again and again returns the same items",
    ),
    Check(
        "targeted:empty-writes",
        Profile.CORE,
        ("MM-STORE-001", "MM-UPD-001"),
        _empty_writes,
        "writes without items raise ValueError and change nothing",
    ),
    Check(
        "targeted:as-users-build",
        Profile.CORE,
        ("MM-MODEL-004",),
        _as_users_build,
        "built with ttl alone and with no arguments, the manager serves every operation",
    ),
    Check(
        "targeted:native-inputs",
        Profile.CORE,
        ("MM-INPUT-001",),
        _native_inputs,
        "the four operations take IMemoryInput",
    ),
    Check(
        "targeted:input-snapshot",
        Profile.CORE,
        ("MM-STORE-007", "MM-META-003"),
        _input_snapshot,
        "changing the caller's objects after a write changes nothing stored",
    ),
    Check(
        "targeted:output-ownership",
        Profile.CORE,
        ("MM-RETR-003",),
        _output_ownership,
        "changing what retrieve returned changes nothing stored",
    ),
    Check(
        "targeted:foreign-inputs",
        Profile.CORE,
        ("MM-INPUT-002", "MM-MODEL-003", "MM-STORE-008"),
        _foreign_inputs,
        "plain objects and other frameworks' enums are accepted",
    ),
    Check(
        "targeted:mapping-inputs",
        Profile.CORE,
        ("MM-INPUT-003",),
        _mapping_inputs,
        "plain dicts are accepted",
    ),
    Check(
        "targeted:keys",
        Profile.CORE,
        ("MM-STORE-004", "MM-STORE-008", "MM-STORE-009"),
        _keys,
        "keys are non-empty, stable per slot and distinct across many unusual IDs",
    ),
    Check(
        "targeted:lone-surrogates",
        Profile.CORE,
        ("MM-FID-003",),
        _lone_surrogates,
        "a lone surrogate is kept exactly or refused cleanly",
    ),
    Check(
        "targeted:quiet-logs",
        Profile.CORE,
        ("MM-SEC-002",),
        _quiet_logs,
        "memory content is not logged at INFO or above",
    ),
)
