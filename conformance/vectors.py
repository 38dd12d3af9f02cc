"""Running the scenario vectors of :mod:`memspec.vectors` against a target."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pydantic import ValidationError

from memspec.conformance.driver import DEFAULT_CALL_TIMEOUT, CallTimeout, Driver
from memspec.conformance.results import CheckOutcome, Failure, short
from memspec.conformance.target import UNSET, FakeClock, Target
from memspec.models import ConversationMemoryType, IMemoryInput
from memspec.vectors import (
    AdvanceStep,
    Expect,
    RetrieveStep,
    StoreStep,
    Vector,
    expand_text,
    load_vectors,
)

__all__ = ["build_input", "run_vector", "run_vectors"]

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


def _texts(result: Any) -> list[str] | str:
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


def run_vector(
    vector: Vector, target: Target, *, timeout: float = DEFAULT_CALL_TIMEOUT
) -> CheckOutcome:
    """Run one vector against a fresh manager built by ``target``."""
    outcome = CheckOutcome(check=f"vector:{vector.id}")
    if vector.needs_clock and not target.accepts_clock:
        outcome.skip(
            vector.requirement_ids,
            "the vector moves the clock and the target takes no clock parameter",
        )
        return outcome
    clock = FakeClock(vector.clock_start)
    setup = vector.manager
    ttl = setup.ttl if setup.pass_ttl else UNSET
    with Driver(timeout=timeout) as driver:
        try:
            manager = driver.run_sync(lambda: target.build(ttl=ttl, clock=clock), label="build")
        except INVALID as exc:
            if setup.expect == "invalid-argument":
                outcome.pass_(setup.requirements)
            else:
                outcome.fail(
                    Failure(
                        setup.requirements or ("MM-TTL-001",),
                        f"building with ttl={ttl!r} raised {type(exc).__name__}: {exc}",
                    )
                )
            return outcome
        except Exception as exc:
            outcome.fail(
                Failure(
                    setup.requirements or ("MM-TTL-001",),
                    f"building with ttl={ttl!r} raised {type(exc).__name__}: {exc}",
                )
            )
            return outcome
        if setup.expect == "invalid-argument":
            outcome.fail(
                Failure(setup.requirements, f"the constructor accepted the invalid ttl={ttl!r}")
            )
            return outcome
        outcome.pass_(setup.requirements)
        driver.attach(manager)
        _run_steps(vector, driver, clock, outcome)
    return outcome


def _run_steps(vector: Vector, driver: Driver, clock: FakeClock, outcome: CheckOutcome) -> None:
    keys: dict[str, Any] = {}
    for index, step in enumerate(vector.steps, start=1):
        if isinstance(step, AdvanceStep):
            clock.advance(step.seconds)
            outcome.pass_(step.requirements)
            continue
        ids = step.requirements or (_BASIC[step.op],)
        where = f"{vector.id} step {index} ({step.op} {short(step.input, 100)})"
        argument = build_input(step.input)
        try:
            result = driver.call(step.op, argument)
        except CallTimeout as exc:
            outcome.fail(Failure(ids, f"{where}: {exc}"))
            return
        except Exception as exc:
            if step.expect is Expect.INVALID_INPUT and isinstance(exc, INVALID):
                outcome.pass_(ids)
                continue
            wanted = "ValueError or TypeError" if step.expect is Expect.INVALID_INPUT else "success"
            outcome.fail(
                Failure(ids, f"{where}: expected {wanted}, raised {type(exc).__name__}: {exc}")
            )
            return
        if step.expect is Expect.INVALID_INPUT:
            outcome.fail(Failure(ids, f"{where}: accepted invalid input, returned {short(result)}"))
            return
        problem = _judge(step, result, keys)
        if problem is not None:
            message, blamed = problem
            outcome.fail(Failure(blamed or ids, f"{where}: {message}"))
            return
        outcome.pass_(ids)


def _judge(
    step: Any, result: Any, keys: dict[str, Any]
) -> tuple[str, tuple[str, ...] | None] | None:
    """Say what is wrong with a step's result (and whom to blame, if not the step's IDs)."""
    if isinstance(step, RetrieveStep):
        texts = _texts(result)
        if isinstance(texts, str):
            return texts, None
        expected = [expand_text(text) for text in step.items or ()]
        if texts != expected:
            return f"expected items {short(expected)}, got {short(texts)}", None
        return None
    if isinstance(step, StoreStep):
        if not isinstance(result, str) or not result:
            return f"store must return a non-empty str key, got {short(result)}", ("MM-STORE-004",)
        if step.key_equals is not None and keys.get(step.key_equals) != result:
            previous = keys.get(step.key_equals)
            return f"key {result!r} differs from {previous!r} for the same slot", ("MM-STORE-005",)
        for name in step.key_differs_from:
            if keys.get(name) == result:
                return f"key {result!r} is also the key of slot {name!r}", ("MM-STORE-006",)
        if step.save_key_as is not None:
            keys[step.save_key_as] = result
        return None
    if result is not None:
        return f"{step.op} must return None, returned {short(result)}", ("MM-UPD-004",)
    return None


def run_vectors(
    target: Target,
    vectors: tuple[Vector, ...] | None = None,
    *,
    timeout: float = DEFAULT_CALL_TIMEOUT,
) -> list[CheckOutcome]:
    """Run every vector (the packaged ones by default) against ``target``."""
    return [run_vector(v, target, timeout=timeout) for v in vectors or load_vectors()]
