"""The model-based check: a hypothesis state machine driving the target and the model together.

Each example builds a fresh target manager and a fresh :class:`~memspec.MemoryModel` on one
fake clock (when the target takes a clock), then applies random stores, updates, deletes,
retrieves, rejected writes and clock moves to both, over a small pool of conversation IDs
chosen to collide in careless key schemes, and compares every slot touched so far after each
step. Clock moves land exactly on, just before and just after expiry boundaries, with TTLs
and times that floats represent exactly. A failure is shrunk by hypothesis and reported with
the requirement IDs it breaks and a runnable Python snippet that replays it.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any, NoReturn

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from memspec.catalogue import Profile
from memspec.conformance.callboard import TIMELY, TimeUp
from memspec.conformance.calls import kept_earlier, refusal_blame
from memspec.conformance.checks import (
    Check,
    Context,
    Skip,
    Unjudged,
    close_manager,
    refused_setting,
)
from memspec.conformance.driver import CallTimeout, Driver
from memspec.conformance.reproduce import snippet
from memspec.conformance.results import CheckFailure, short
from memspec.conformance.sharing import foreign_writers, isolation_requirement
from memspec.conformance.target import FakeClock
from memspec.conformance.vectors import item_texts
from memspec.model import MemoryModel, SlotKey
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory

__all__ = ["CHECKS", "CONVERSATION_IDS", "make_machine"]

#: Conversation IDs that careless key schemes merge: case, normalisation, separators,
#: wildcards, white space, NUL, a key-looking ID, and a long one.
CONVERSATION_IDS: tuple[str, ...] = (
    "conv",
    "Conv",
    "conv ",
    " conv",
    "conv:1",
    "conv:",
    "conv*",
    "*",
    unicodedata.normalize("NFC", "café"),
    unicodedata.normalize("NFD", "café"),
    "\u4f1a\u8bdd",
    "\U0001f600",
    "a\x00b",
    "WORKING_MEMORY:conv",
    "x" * 1024,
)

#: TTLs for clocked targets; every one, and every clock reading, is exact in binary.
_TTLS = (0.5, 1.0, 2.75, 60.0, 43200.0)
_EPSILON = 2.0**-10
#: A large item: 60 KiB of UTF-8, so that a write of four of them stays within the 256 KiB
#: every manager must accept (MM-LIMIT-005, MM-FID-004).
_BIG = "é\U0001f600" * 10240

_TYPES = st.sampled_from(list(ConversationMemoryType))
_SLOTS = st.tuples(st.sampled_from(CONVERSATION_IDS), _TYPES)
_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "  padded  ", "\x00", "\r\n", "\U0001f600", "\u202e"]),
)
# One item in fifty is large; the big one is at the top of the range so shrinking drops it.
_ITEM = st.builds(lambda roll, text: _BIG if roll == 49 else text, st.integers(0, 49), _TEXT)
_ITEMS = st.lists(_ITEM, min_size=1, max_size=4)
_METADATA = st.one_of(
    st.none(), st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=2)
)


def _request(slot: SlotKey, items: list[str] | None = None, metadata: Any = None) -> IMemoryInput:
    data = None if items is None else [IWorkingMemory(working_memory=t) for t in items]
    return IMemoryInput(conversation_id=slot[0], memory_type=slot[1], data=data, metadata=metadata)


def _code(
    operation: str, slot: SlotKey, items: list[str] | None = None, metadata: Any = None
) -> str:
    """The Python line that makes this call, for the reproduction snippet."""
    parts = [f"conversation_id={_literal(slot[0])}", f"memory_type=T.{slot[1].name}"]
    if items is not None:
        parts.append(f"data=[{', '.join(f'W(working_memory={_literal(t)})' for t in items)}]")
    if metadata is not None:
        parts.append(f"metadata={metadata!r}")
    return f"manager.{operation}(IMemoryInput({', '.join(parts)}))"


def _literal(text: str) -> str:
    if text == _BIG:
        return "BIG"
    if len(text) > 40 and len(set(text)) == 1:
        return f"{text[0]!r} * {len(text)}"
    return repr(text)


class _Blame:
    """Which requirements a disagreement between target and model breaks."""

    @staticmethod
    def of(machine: Any, slot: SlotKey, expected: list[str], got: list[str]) -> tuple[str, ...]:
        last = machine.last
        others = {other: list(items) for other, items in machine.history.items() if other != slot}
        sources = []
        if got and got != expected and any(got == items for items in others.values()):
            sources = [next(other for other, items in others.items() if items == got)]
        if not sources:
            sources = foreign_writers(slot, got, expected, machine.ever)
        if sources:
            return isolation_requirement(slot[0], (source[0] for source in sources))
        if last is None:
            return ("MM-RETR-001",)
        operation, last_slot = last
        if operation == "advance":
            if not float(machine.model_ttl).is_integer():
                return ("MM-TTL-006",)  # integral TTLs are the others' business
            if got and not expected:
                # The check after every step reads every slot, so a slot alive past its
                # lifetime here has always been read since its write: that is MM-TTL-005's
                # witness. MM-TTL-002, its prerequisite, is judged on unread slots elsewhere.
                return ("MM-TTL-005",)
            return ("MM-TTL-004",) if machine.updated(slot) else ("MM-TTL-001",)
        if last_slot != slot:
            if operation == "delete":
                return ("MM-DEL-002",)
            if last_slot[0] == slot[0]:  # a write to another memory type of its conversation
                return ("MM-ISO-002",)
            if not got:  # a live slot vanished on a write elsewhere: an eviction or a sweep
                return ("MM-LIMIT-003",)
            return ("MM-ISO-001",)
        if operation == "store":
            previous = machine.previous.get(slot) or []
            if kept_earlier(got, expected, previous):
                return ("MM-STORE-003",)
            # Plain texts are MM-STORE-002's; unusual or large ones are fidelity's.
            return ("MM-STORE-002",) if all(map(_plain, expected)) else _fidelity(expected, got)
        if operation == "update":
            if not expected:
                return ("MM-TTL-003",) if machine.expired_before_update else ("MM-UPD-003",)
            return ("MM-UPD-002",)
        if operation == "delete":
            return ("MM-DEL-001",)
        if operation == "rejected":
            return (machine.rejected_by, "MM-ERR-003")
        return ("MM-RETR-004",)


def _plain(text: str) -> bool:
    """Whether a text is ordinary: short printable ASCII with no surrounding white space."""
    return 0 < len(text) <= 64 and text.isascii() and text.isprintable() and text == text.strip()


def _large(text: str) -> bool:
    return len(text.encode("utf-8", "surrogatepass")) >= 1 << 15


def _fidelity(expected: list[str], got: list[str]) -> tuple[str, ...]:
    """The fidelity requirements the witness contradicts, by the items that did not come
    back exactly: MM-FID-004 for a large one, MM-FID-001 for any other. When every item came
    back but the list differs (order, extras), the largest item written decides."""
    lost = Counter(expected) - Counter(got)
    if not lost:
        return ("MM-FID-004",) if any(map(_large, expected)) else ("MM-FID-001",)
    sizes = {_large(text) for text in lost}  # each lost text encoded once
    by_size = (("MM-FID-001", False), ("MM-FID-004", True))
    return tuple(requirement for requirement, large in by_size if large in sizes)


def make_machine(context: Context, *, with_time: bool) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one certification run's target and settings.

    ``with_time`` adds clock moves (the target must take a clock); without it the TTL is an
    hour on a clock that never moves, so nothing expires.
    """
    clocked = with_time and context.target.accepts_clock
    target = context.target
    # Once a call hangs, every later example fails at once with the same failure, so that
    # hypothesis's shrinking does not wait out the time limit again and again.
    hung: list[CheckFailure | Unjudged] = []

    class MemoryMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.driver: Driver | None = None
            self.clock = FakeClock(1000.0)
            self.model = MemoryModel(ttl=3600, clock=self.clock)
            self.code: list[str] = []
            self.touched: set[SlotKey] = set()
            self.keys: dict[SlotKey, str] = {}
            self.history: dict[SlotKey, tuple[str, ...]] = {}
            self.ever: dict[SlotKey, set[str]] = {}  # every text each slot was written with
            self.previous: dict[SlotKey, list[str]] = {}
            self.reads: set[SlotKey] = set()
            self.updates: set[SlotKey] = set()
            self.last: tuple[str, SlotKey] | None = None
            self.expired_before_update = False
            self.rejected_by = "MM-STORE-001"
            self.model_ttl = 3600.0
            self.last_expiry: dict[SlotKey, float | None] = {}

        # -- set-up and tear-down ------------------------------------------------------

        @initialize(ttl=st.sampled_from(_TTLS) if clocked else st.just(3600.0))
        def build(self, ttl: float) -> None:
            if hung:
                raise hung[0]
            self.model = MemoryModel(ttl=ttl, clock=self.clock)
            self.model_ttl = ttl
            driver = self.driver = Driver(
                timeout=context.timeout,
                deadline=context.deadline,
                plain_thread=not context.is_async,
            )
            clock = self.clock if target.accepts_clock else None
            self.code.append(f"manager = factory(ttl={ttl!r}{', clock=clock' if clock else ''})")
            manager = self.call(
                lambda: driver.run_sync(lambda: target.build(ttl=ttl, clock=clock), label="build"),
                (refused_setting(ttl) or "MM-TTL-001",),
                "building the manager",
            )
            driver.attach(manager)

        def teardown(self) -> None:
            if self.driver is not None:
                close_manager(self.driver)
                self.driver.close()

        # -- rules ---------------------------------------------------------------------

        @rule(slot=_SLOTS, items=_ITEMS, metadata=_METADATA)
        def store(self, slot: SlotKey, items: list[str], metadata: Any) -> None:
            self.previous[slot] = list(self.model_items(slot))
            self.code.append(_code("store", slot, items, metadata))
            key = self.call(
                lambda: self.target_call("store", _request(slot, items, metadata)),
                ("MM-STORE-002",),
                "store",
                plain=lambda: self.target_call("store", _request(slot, items)),
            )
            self.model.store(_request(slot, items, metadata))
            self.wrote(slot, "store", items)
            if not isinstance(key, str) or not key:
                self.fail(("MM-STORE-004",), f"store returned {short(key)} as the key")
            known = self.keys.setdefault(slot, key)
            if known != key:
                self.fail(
                    ("MM-STORE-008",), f"the key of {slot!r} changed from {known!r} to {key!r}"
                )
            clash = [other for other, k in self.keys.items() if k == key and other != slot]
            if clash:
                self.fail(("MM-STORE-009",), f"{slot!r} and {clash[0]!r} both have key {key!r}")

        @rule(slot=_SLOTS, items=_ITEMS, metadata=_METADATA)
        def update(self, slot: SlotKey, items: list[str], metadata: Any) -> None:
            self.previous[slot] = list(self.model_items(slot))
            self.expired_before_update = slot in self.history and not self.model_items(slot)
            self.code.append(_code("update", slot, items, metadata))
            result = self.call(
                lambda: self.target_call("update", _request(slot, items, metadata)),
                ("MM-UPD-002",),
                "update",
                plain=lambda: self.target_call("update", _request(slot, items)),
            )
            self.model.update(_request(slot, items, metadata))
            self.ever.setdefault(slot, set()).update(items)
            if self.model_items(slot):
                self.updates.add(slot)
                self.reads.discard(slot)
            self.touched.add(slot)
            self.last = ("update", slot)
            if result is not None:
                self.fail(("MM-UPD-005",), f"update returned {short(result)}")

        @rule(slot=_SLOTS)
        def delete(self, slot: SlotKey) -> None:
            self.code.append(_code("delete", slot))
            result = self.call(
                lambda: self.target_call("delete", _request(slot)), ("MM-DEL-001",), "delete"
            )
            self.model.delete(_request(slot))
            self.touched.add(slot)
            self.last = ("delete", slot)
            if result is not None:
                self.fail(("MM-UPD-005",), f"delete returned {short(result)}")

        @rule(slot=_SLOTS)
        def retrieve(self, slot: SlotKey) -> None:
            self.touched.add(slot)
            self.reads.add(slot)
            self.last = ("retrieve", slot)
            self.compare(slot)

        @rule(slot=_SLOTS, operation=st.sampled_from(["store", "update"]), empty=st.booleans())
        def rejected(self, slot: SlotKey, operation: str, empty: bool) -> None:
            items: list[str] | None = [] if empty else None
            self.rejected_by = "MM-STORE-001" if operation == "store" else "MM-UPD-001"
            self.code.append(
                f"try:\n    {_code(operation, slot, items)}\nexcept ValueError:\n    pass"
            )
            try:
                self.target_call(operation, _request(slot, items))
            except CallTimeout as exc:
                self.fail((TIMELY,), str(exc))
            except ValueError:
                pass
            except Exception as exc:
                self.fail(
                    ("MM-STORE-001",) if operation == "store" else ("MM-UPD-001",),
                    f"{operation} with data={items!r} raised {type(exc).__name__}, not ValueError",
                )
            else:
                self.fail(
                    ("MM-STORE-001",) if operation == "store" else ("MM-UPD-001",),
                    f"{operation} with data={items!r} did not raise ValueError",
                )
            self.touched.add(slot)
            self.last = ("rejected", slot)

        @precondition(lambda self: clocked)
        @rule(
            where=st.sampled_from(["before", "at", "after", "jump", "nudge"]),
            pick=st.integers(0, 1 << 16),
            jump=st.integers(1, 4096),
        )
        def advance(self, where: str, pick: int, jump: int) -> None:
            expiries = sorted(
                {e for slot in self.touched if (e := self.model.expires_at(slot)) is not None}
            )
            now = self.clock()
            self.last_expiry = {slot: self.model.expires_at(slot) for slot in self.touched}
            if where == "nudge":  # to a sub-millisecond position, where rounding shows
                step = jump * _EPSILON / 16
            elif where == "jump" or not expiries:
                step = jump * _EPSILON * 16
            else:
                boundary = expiries[pick % len(expiries)]
                offset = {"before": -_EPSILON, "at": 0.0, "after": _EPSILON}[where]
                step = max(boundary + offset - now, 0.0)
            if step > 0:
                self.clock.advance(step)
                self.code.append(f"clock.advance({step!r})  # now {self.clock()!r}")
            self.last = ("advance", ("", ConversationMemoryType.WORKING_MEMORY))

        # -- the check after every step ------------------------------------------------

        @invariant()
        def agrees(self) -> None:
            if self.driver is None or not self.touched:
                return
            slots = sorted(self.touched, key=repr)
            # Every touched slot read, then every one read again, in one hop.
            both = self.call(
                lambda: self.driver.call_many(  # type: ignore[union-attr]
                    "retrieve", [_request(slot) for slot in slots + slots]
                ),
                ("MM-RETR-001",),
                "retrieve",
            )
            results, again = both[: len(slots)], both[len(slots) :]
            for slot, first, second in zip(slots, results, again, strict=True):
                one, two = item_texts(first), item_texts(second)
                if isinstance(one, list) and one != two:
                    self.fail(
                        ("MM-RETR-004",),
                        f"slot {_shown_slot(slot)}: two retrieves in a row returned "
                        f"{_shown(one)}, then {_shown(two) if isinstance(two, list) else two}",
                    )
            for slot, result in zip(slots, results, strict=True):
                self.judge(slot, result)

        # -- helpers -------------------------------------------------------------------

        def target_call(self, operation: str, request: IMemoryInput) -> Any:
            assert self.driver is not None
            return self.driver.call(operation, request)

        def call(
            self,
            run: Callable[[], Any],
            blame: tuple[str, ...],
            what: str,
            plain: Callable[[], Any] | None = None,
        ) -> Any:
            """Make a call of the target. When it raises, ``blame`` fails, unless the same
            write without its metadata (``plain``) then succeeds: the metadata was refused,
            which MM-META-003 forbids for metadata of JSON values (the model's only kind)."""
            try:
                return run()
            except CallTimeout as exc:
                # A call that did not return witnesses MM-RES-002 only (not when the check's
                # time ran out: then nothing); the rest is left for other checks to judge.
                hung.append(
                    CheckFailure((TIMELY,), f"{what}: {exc}", reproduction=self.snippet())
                    if not isinstance(exc, TimeUp)
                    else Unjudged(f"{what}: {exc}")
                )
                raise hung[0] from exc
            except Exception as exc:
                self.fail(*refusal_blame(blame, what, exc, plain))

        def model_items(self, slot: SlotKey) -> tuple[str, ...]:
            return self.model.snapshot().get(slot, ())

        def wrote(self, slot: SlotKey, operation: str, items: list[str]) -> None:
            self.history[slot] = tuple(items)
            self.ever.setdefault(slot, set()).update(items)
            self.touched.add(slot)
            self.reads.discard(slot)
            self.updates.discard(slot)
            self.last = (operation, slot)

        def read_since_write(self, slot: SlotKey) -> bool:
            return slot in self.reads

        def updated(self, slot: SlotKey) -> bool:
            return slot in self.updates

        def compare(self, slot: SlotKey) -> None:
            result = self.call(
                lambda: self.target_call("retrieve", _request(slot)), ("MM-RETR-001",), "retrieve"
            )
            self.judge(slot, result)

        def judge(self, slot: SlotKey, result: Any) -> None:
            expected = list(self.model_items(slot))
            if result is None:
                self.fail(("MM-RETR-002",), f"retrieve of {_shown_slot(slot)} returned None")
            got = item_texts(result)
            if isinstance(got, str):
                self.fail(("MM-RETR-001",), f"retrieve of {slot!r} returned {got}")
            if got != expected:
                read = (
                    f"manager.retrieve(IMemoryInput(conversation_id={_literal(slot[0])}, "
                    f"memory_type=T.{slot[1].name}))"
                )
                self.code.append(
                    f"assert texts({read}) == {_python(expected)}  # got {_shown(got)}"
                )
                self.fail(
                    _Blame.of(self, slot, expected, got),
                    f"slot {_shown_slot(slot)}: expected {_shown(expected)}, got {_shown(got)} "
                    f"(last step: {self.last[0] if self.last else 'none'})",
                )

        def fail(self, blame: tuple[str, ...], message: str) -> NoReturn:
            raise CheckFailure(blame, message, reproduction=self.snippet())

        def snippet(self) -> str:
            return snippet(context.target.name, context.is_async, self.code, clock_start=1000.0)

    MemoryMachine.hung = hung
    return MemoryMachine


def _python(texts: list[str]) -> str:
    """A Python expression for a list of texts, for the reproduction snippet."""
    return f"[{', '.join(_literal(text) for text in texts)}]"


def _shown(texts: list[str]) -> str:
    return short([_literal(t) if t == _BIG else t for t in texts], 200)


def _shown_slot(slot: SlotKey) -> str:
    return f"({short(slot[0], 60)}, {slot[1].name})"


def _run(context: Context, *, with_time: bool) -> None:
    if with_time and not context.target.accepts_clock:
        raise Skip("the target takes no clock; the real-time check covers expiry instead")
    budget = context.budget
    machine = make_machine(context, with_time=with_time)
    configured = settings(
        max_examples=budget["examples"],
        stateful_step_count=budget["steps"],
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        phases=(Phase.generate, Phase.shrink) if context.shrink else (Phase.generate,),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    # Any zero-argument callable returning a machine is accepted; hypothesis reads the seed
    # from the callable, so each run gets a fresh one carrying this run's seed.
    factory: Any = hypothesis_seed(context.seed)(lambda: machine())
    with with_reporter(lambda _message: None):
        try:
            run_state_machine_as_test(factory, settings=configured)
        except BaseException as exc:
            hung: list[CheckFailure | Unjudged] = machine.hung  # type: ignore[attr-defined]
            if hung:  # whatever hypothesis made of it, the first hang is the finding
                raise hung[0] from exc
            raise


CHECKS: tuple[Check, ...] = (
    Check(
        "model:state-machine",
        Profile.CORE,
        (
            "MM-MODEL-001",
            "MM-RES-002",
            "MM-STORE-002",
            "MM-STORE-003",
            "MM-STORE-004",
            "MM-STORE-008",
            "MM-STORE-009",
            "MM-RETR-001",
            "MM-RETR-002",
            "MM-RETR-004",
            "MM-UPD-002",
            "MM-UPD-003",
            "MM-UPD-005",
            "MM-DEL-001",
            "MM-DEL-002",
            "MM-ERR-003",
            "MM-ISO-001",
            "MM-ISO-002",
            "MM-ISO-003",
            "MM-FID-001",
            "MM-FID-004",
            "MM-META-001",
            "MM-META-003",
            "MM-STORE-001",
            "MM-UPD-001",
        ),
        lambda context: _run(context, with_time=False),
        "random operations on colliding IDs agree with the executable model after every step",
    ),
    Check(
        "model:state-machine-ttl",
        Profile.TTL,
        (
            "MM-TTL-001",
            "MM-TTL-002",
            "MM-TTL-003",
            "MM-TTL-004",
            "MM-TTL-005",
            "MM-TTL-006",
            "MM-META-003",
        ),
        lambda context: _run(context, with_time=True),
        "the same, with clock moves onto, just before and just after expiry boundaries",
    ),
)
