"""Running the scenario vectors of :mod:`memspec.vectors` against a target."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

from memspec.catalogue import Profile
from memspec.conformance.checks import Check, Context, Skip, timed_out
from memspec.conformance.driver import CallTimeout, Driver
from memspec.conformance.reproduce import snippet
from memspec.conformance.results import CheckFailure, short
from memspec.conformance.target import UNSET, FakeClock
from memspec.models import ConversationMemoryType, IMemoryInput
from memspec.vectors import (
    AdvanceStep,
    Expect,
    RetrieveStep,
    StoreStep,
    TextRepeat,
    Vector,
    expand_text,
    load_vectors,
)
from pydantic import ValidationError

__all__ = ["CHECKS", "build_input", "item_texts", "run_vector", "seen_texts"]

#: The requirement a step checks when it names none: the operation's basic promise.
_BASIC = {
    "store": "MM-STORE-002",
    "retrieve": "MM-RETR-001",
    "update": "MM-UPD-002",
    "delete": "MM-DEL-001",
}

#: Errors that count as "invalid-input" / "invalid-argument" in Python.
INVALID = (ValueError, TypeError)


def build_input(raw: dict[str, Any]) -> Any:
    """Turn a vector's JSON input into what the manager is called with.

    A valid input becomes an ``IMemoryInput``. An invalid one (which the manager must reject)
    becomes a plain object with ``IMemoryInput``'s attributes, so that the manager, not
    memspec's model, has to notice the problem.
    """
    fields = dict(raw)
    if "conversation_id" in fields:
        fields["conversation_id"] = expand_text(fields["conversation_id"])
    data = fields.get("data")
    if isinstance(data, list):
        fields["data"] = [
            {**item, "working_memory": expand_text(item.get("working_memory"))}
            if isinstance(item, dict)
            else item
            for item in data
        ]
    try:
        return IMemoryInput.model_validate(fields)
    except ValidationError:
        pass
    defaults: dict[str, Any] = {
        name: info.get_default(call_default_factory=True)
        for name, info in IMemoryInput.model_fields.items()
        if not info.is_required()
    }
    defaults["memory_type"] = ConversationMemoryType.WORKING_MEMORY
    if isinstance(fields.get("data"), list):
        fields["data"] = [
            SimpleNamespace(**item) if isinstance(item, dict) else item for item in fields["data"]
        ]
    return SimpleNamespace(**{**defaults, **fields})


def run_vector(vector: Vector, context: Context) -> None:
    """Run one vector against a fresh manager; raise ``CheckFailure`` at the first wrong step.

    The failure carries a snippet that replays the vector's steps up to the wrong one.
    """
    if vector.needs_clock and not context.target.accepts_clock:
        raise Skip("the vector moves the clock and the target takes no clock parameter")
    clock = FakeClock(vector.clock_start)
    setup = vector.manager
    ttl = setup.ttl if setup.pass_ttl else UNSET
    arguments = ", ".join(
        ([f"ttl={ttl!r}"] if setup.pass_ttl else [])
        + (["clock=clock"] if context.target.accepts_clock else [])
    )
    code = [f"manager = factory({arguments})"]
    if setup.expect == "ok-or-invalid-argument":
        code.insert(0, f"# ttl={ttl!r} is past the floor: refusing it with ValueError is allowed")
    if setup.expect == "invalid-argument":
        code = [
            "try:",
            f"    factory({arguments})",
            "except (ValueError, TypeError):",
            "    pass",
            "else:",
            f"    raise AssertionError('the constructor accepted ttl={ttl!r}')",
        ]

    def fail(ids: tuple[str, ...], message: str) -> CheckFailure:
        reproduction = snippet(
            context.target.name, context.is_async, code, clock_start=vector.clock_start
        )
        credit(current[0])
        return CheckFailure(ids, message, reproduction=reproduction)

    current = [0]

    def credit(failing: int) -> None:
        """Pass the requirements all of whose steps ran and held before step ``failing``."""
        last: dict[str, int] = {}
        for position, each in enumerate(vector.steps, start=1):
            for requirement_id in getattr(each, "requirements", ()) or ():
                last[requirement_id] = position
        context.outcome.pass_(i for i, position in last.items() if position < failing)

    blamed = setup.requirements or ("MM-TTL-001",)
    try:
        driver = context.manager(ttl=ttl, clock=clock)
    except INVALID as exc:
        if setup.expect != "ok":
            return  # refused, as it must be or may be
        raise fail(blamed, f"building with ttl={ttl!r} raised {exc!r}") from exc
    except CallTimeout as exc:
        timed_out(context.outcome, vector.requirement_ids, f"building with ttl={ttl!r}: {exc}", exc)
        raise _Stopped from exc
    if setup.expect == "invalid-argument":
        raise fail(blamed, f"the constructor accepted the invalid ttl={ttl!r}")
    keys: dict[str, Any] = {}
    for index, step in enumerate(vector.steps, start=1):
        current[0] = index
        if isinstance(step, AdvanceStep):
            clock.advance(step.seconds)
            code.append(f"clock.advance({step.seconds!r})")
            continue
        code.extend(_code(step))
        ids = step.requirements or (_BASIC[step.op],)
        set_up = not step.requirements  # a set-up step: its failure is no witness of its own
        where = f"{vector.id} step {index} ({step.op} {short(step.input, 100)})"
        try:
            request = build_input(step.input)
            result = driver.call(step.op, request)
        except CallTimeout as exc:
            credit(index)
            timed_out(context.outcome, vector.requirement_ids, f"{where}: {exc}", exc)
            raise _Stopped from exc
        except Exception as exc:
            if step.expect is Expect.INVALID_INPUT and isinstance(exc, INVALID):
                continue
            wanted = "ValueError or TypeError" if step.expect is Expect.INVALID_INPUT else "success"
            raise fail(
                ids, f"{where}: expected {wanted}, raised {type(exc).__name__}: {exc}"
            ) from exc
        if step.expect is Expect.INVALID_INPUT:
            raise fail(ids, f"{where}: accepted invalid input, returned {short(result)}")
        problem = _judge(step, result, keys)
        if problem is not None and isinstance(step, StoreStep) and problem[1]:
            # A key problem says nothing about the content: note it and go on.
            context.outcome.fail(fail(problem[1], f"{where}: {problem[0]}").failure)
            problem = None
        if problem is not None:
            message, blamed_ids = problem
            if isinstance(step, RetrieveStep) and not blamed_ids:
                blamed_ids = _isolation(driver, request, result, step, ids)
            if set_up and not blamed_ids:
                context.outcome.leave(
                    vector.requirement_ids, f"{vector.id} stopped at set-up step {index}: {message}"
                )
                raise _Stopped
            raise fail(blamed_ids or ids, f"{where}: {message}")


def _python(value: Any) -> str:
    """A vector's JSON text (or ``{repeat, count}``) as a Python expression."""
    if isinstance(value, TextRepeat):
        return f"{value.repeat!r} * {value.count}"
    return repr(value)


def _code(step: Any) -> list[str]:
    """The snippet lines for one operation step."""
    call = f"manager.{step.op}(build_input({step.input!r}))"
    if step.expect is Expect.INVALID_INPUT:
        return [
            "try:",
            f"    {call}",
            "except (ValueError, TypeError):",
            "    pass",
            "else:",
            "    raise AssertionError('invalid input was accepted')",
        ]
    if isinstance(step, RetrieveStep):
        expected = ", ".join(_python(text) for text in step.items or ())
        return [f"assert texts({call}) == [{expected}]"]
    if isinstance(step, StoreStep):
        lines = [f"key = {call}", "assert isinstance(key, str) and key"]
        if step.key_equals is not None:
            lines.append(f"assert key == keys[{step.key_equals!r}]")
        lines.extend(f"assert key != keys[{name!r}]" for name in step.key_differs_from)
        if step.save_key_as is not None:
            lines.insert(0, "keys = globals().setdefault('keys', {})")
            lines.append(f"keys[{step.save_key_as!r}] = key")
        elif step.key_equals or step.key_differs_from:
            lines.insert(0, "keys = globals().setdefault('keys', {})")
        return lines
    return [f"assert {call} is None"]


def item_texts(result: Any) -> list[str] | str:
    """The ``working_memory`` texts of a retrieve result, or a description of what is wrong."""
    if not isinstance(result, list):
        return f"a {type(result).__name__} instead of a list: {short(result)}"
    texts = []
    for position, item in enumerate(result):
        text = getattr(item, "working_memory", None)
        if not isinstance(text, str):
            return f"item {position} has no string working_memory: {short(item)}"
        texts.append(text)
    return texts


def seen_texts(result: Any) -> list[Any]:
    """Each item's ``working_memory`` text, or the item itself where it has none: what the
    race checks compare, since a malformed result is MM-RETR-001/002's business, not theirs."""
    return [getattr(item, "working_memory", item) for item in result or ()]


def _isolation(
    driver: Driver, request: Any, result: Any, step: RetrieveStep, ids: tuple[str, ...]
) -> tuple[str, ...] | None:
    """Isolation's blame for a retrieve that came back with another slot's items."""
    texts, slot = item_texts(result), Driver.slot_of(request)
    if isinstance(texts, str) or slot is None:
        return None
    wanted = [expand_text(text) for text in step.items or ()]
    return driver.isolation_blame(slot, texts, wanted, ids)


def _judge(
    step: Any, result: Any, keys: dict[str, Any]
) -> tuple[str, tuple[str, ...] | None] | None:
    """Say what is wrong with a step's result (and whom to blame, if not the step's IDs)."""
    if isinstance(step, RetrieveStep):
        if result is None:
            return "retrieve returned None instead of a list", ("MM-RETR-002",)
        texts = item_texts(result)
        if isinstance(texts, str):
            return texts, ("MM-RETR-001",)
        expected = [expand_text(text) for text in step.items or ()]
        if texts != expected:
            return f"expected items {short(expected)}, got {short(texts)}", None
        return None
    if isinstance(step, StoreStep):
        if not isinstance(result, str) or not result:
            return f"store must return a non-empty str key, got {short(result)}", ("MM-STORE-004",)
        if step.key_equals is not None and keys.get(step.key_equals) != result:
            previous = keys.get(step.key_equals)
            return f"key {result!r} differs from {previous!r} for the same slot", ("MM-STORE-008",)
        for name in step.key_differs_from:
            if keys.get(name) == result:
                return f"key {result!r} is also the key of slot {name!r}", ("MM-STORE-009",)
        if step.save_key_as is not None:
            keys[step.save_key_as] = result
        return None
    if result is not None:
        return f"{step.op} must return None, returned {short(result)}", ("MM-UPD-005",)
    return None


class _Stopped(Exception):
    """A vector stopped at a set-up step; its requirements are left unjudged."""


def _vector_check(vector: Vector) -> Check:
    def run(context: Context) -> None:
        try:
            run_vector(vector, context)
        except _Stopped:
            return

    return Check(
        name=f"vector:{vector.id}",
        profile=vector.profile,
        requirements=tuple(sorted(vector.requirement_ids)),
        run=run,
        description=vector.title,
    )


def _async_semantics(context: Context) -> None:
    """MM-ASYNC-001: the four operations are coroutine functions that work when awaited.

    Their semantics are judged by every other check, which drive async targets through the
    same coroutines; a semantic fault is blamed on its own requirement there, not here."""
    if not context.is_async:
        raise Skip("the target is not async")
    ids = ("MM-ASYNC-001",)
    with context.probe(*ids, what="awaiting the coroutine methods"):
        driver = context.manager(ttl=3600)
        for operation in ("store", "retrieve", "update", "delete"):
            if not inspect.iscoroutinefunction(getattr(driver.manager, operation, None)):
                raise CheckFailure(ids, f"{operation} is not a coroutine function")
        key = driver.store(IMemoryInput(conversation_id="async", data=[{"working_memory": "a"}]))
        if not isinstance(key, str):
            raise CheckFailure(ids, f"awaiting store gave {short(key)}, not a key")
        got = driver.retrieve(IMemoryInput(conversation_id="async"))
        if not isinstance(got, list):
            raise CheckFailure(ids, f"awaiting retrieve gave {short(got)}, not a list")


CHECKS: tuple[Check, ...] = (
    *(_vector_check(vector) for vector in load_vectors()),
    Check(
        name="async:core-vectors",
        profile=Profile.ASYNC,
        requirements=("MM-ASYNC-001",),
        run=_async_semantics,
        description="the four operations are coroutines that work when awaited",
    ),
)
