"""Scenario vectors: language-neutral JSON files of operations and their expected outcomes.

A vector builds one manager, runs its steps in order on a fake clock and checks each step's
outcome. The format needs nothing from Python: inputs are plain JSON objects, errors are named
by category (``invalid-input``, ``invalid-argument``) rather than by exception class, and a
long string is written as ``{"repeat": "ab", "count": 1024}``. ``schemas/vector.schema.json``
is the format's definition for other languages.
"""

from __future__ import annotations

import functools
import json
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
from memspec.catalogue import ID_PATTERN, Profile
from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "VECTOR_FORMAT",
    "AdvanceStep",
    "DeleteStep",
    "Expect",
    "ManagerSetup",
    "RetrieveStep",
    "Step",
    "StoreStep",
    "TextRepeat",
    "UpdateStep",
    "Vector",
    "VectorError",
    "expand_text",
    "load_vector",
    "load_vectors",
]

#: Version of the vector file format.
VECTOR_FORMAT = 1

RequirementId = Annotated[str, Field(pattern=ID_PATTERN)]


class Expect(StrEnum):
    """The outcome a step expects, by category so that any language can map it."""

    OK = "ok"
    #: The operation raises the language's "bad argument" error (in Python: ``ValueError``,
    #: pydantic's ``ValidationError`` or ``TypeError``) and changes nothing.
    INVALID_INPUT = "invalid-input"


class TextRepeat(BaseModel):
    """A long string written compactly: ``repeat`` concatenated ``count`` times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repeat: str = Field(min_length=1, description="The text to repeat.")
    count: int = Field(ge=1, le=16 * 1024 * 1024, description="How many times.")


#: A string in a vector: literal text, or a repetition.
Text = str | TextRepeat


def expand_text(text: Text | JsonValue) -> Any:
    """Expand a :class:`TextRepeat` (or its JSON form) into a string; return others unchanged."""
    if isinstance(text, TextRepeat):
        return text.repeat * text.count
    if isinstance(text, dict) and set(text) == {"repeat", "count"}:
        return expand_text(TextRepeat.model_validate(text))
    return text


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requirements: tuple[RequirementId, ...] = Field(
        default=(), description="The requirement IDs this step checks."
    )
    note: str | None = Field(default=None, description="Why the step is there, for people.")


class _OperationStep(_Step):
    input: dict[str, JsonValue] = Field(
        description=(
            "The operation's input as a JSON object with IMemoryInput's fields; it may be "
            "invalid on purpose. In data[*].working_memory a {repeat, count} object stands "
            "for the repeated string."
        )
    )
    expect: Expect = Field(default=Expect.OK, description="The expected outcome.")


class StoreStep(_OperationStep):
    """Call ``store``; optionally remember or compare the key it returns."""

    op: Literal["store"]
    save_key_as: str | None = Field(default=None, description="Name to remember the key by.")
    key_equals: str | None = Field(
        default=None, description="The key must equal the one saved under this name."
    )
    key_differs_from: tuple[str, ...] = Field(
        default=(), description="The key must differ from the ones saved under these names."
    )


class RetrieveStep(_OperationStep):
    """Call ``retrieve`` and compare the ``working_memory`` texts with ``items``."""

    op: Literal["retrieve"]
    items: tuple[Text, ...] | None = Field(
        default=None, description="Expected texts, in order; required when expect is 'ok'."
    )


class UpdateStep(_OperationStep):
    """Call ``update``; it returns nothing."""

    op: Literal["update"]


class DeleteStep(_OperationStep):
    """Call ``delete``; it returns nothing."""

    op: Literal["delete"]


class AdvanceStep(_Step):
    """Move the fake clock forward."""

    op: Literal["advance"]
    seconds: float = Field(gt=0, description="How far to move the clock, in seconds.")


Step = Annotated[
    StoreStep | RetrieveStep | UpdateStep | DeleteStep | AdvanceStep, Field(discriminator="op")
]


class ManagerSetup(BaseModel):
    """How to build the manager under test."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl: JsonValue = Field(
        default=None,
        description="The ttl argument, passed when pass_ttl is true; may be invalid on purpose.",
    )
    pass_ttl: bool = Field(
        default=True, description="False: build the manager without a ttl argument (default)."
    )
    expect: Literal["ok", "invalid-argument", "ok-or-invalid-argument"] = Field(
        default="ok",
        description="'invalid-argument': construction must fail (Python: ValueError/TypeError); "
        "'ok-or-invalid-argument': construction may fail so (the vector then ends there), and "
        "when it succeeds every step must hold, for a setting past the contract's floor.",
    )
    requirements: tuple[RequirementId, ...] = Field(
        default=(), description="Requirement IDs the construction outcome checks."
    )


class Vector(BaseModel):
    """One scenario: a manager, a clock, and steps with expected outcomes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = Field(default=1, description="Vector format version.")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Unique name of the vector.")
    title: str = Field(min_length=1, description="One line saying what the vector shows.")
    profile: Profile = Field(description="The profile the vector belongs to.")
    manager: ManagerSetup = Field(default_factory=ManagerSetup)
    clock_start: float = Field(
        default=1000.0, description="The fake clock's reading when the manager is built."
    )
    steps: tuple[Step, ...] = Field(default=(), description="The operations, in order.")

    @property
    def needs_clock(self) -> bool:
        """Whether the vector moves the clock, so needs a manager with an injectable clock."""
        return any(isinstance(step, AdvanceStep) for step in self.steps)

    @property
    def requirement_ids(self) -> frozenset[str]:
        """Every requirement ID the vector checks."""
        ids = set(self.manager.requirements)
        for step in self.steps:
            ids.update(step.requirements)
        return frozenset(ids)


class VectorError(ValueError):
    """A vector file is not valid against ``schemas/vector.schema.json``."""


def load_vector(source: Path | str, text: str | None = None) -> Vector:
    """Load and validate one vector file; :class:`VectorError` names the bad path inside it."""
    from memspec.schemas import load_schema

    origin = str(source)
    try:
        data = json.loads(Path(source).read_text("utf-8") if text is None else text)
    except json.JSONDecodeError as exc:
        raise VectorError(f"{origin}: not valid JSON: {exc}") from exc
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(load_schema("vector")).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise VectorError(f"{origin}: at {where}: {error.message}")
    return Vector.model_validate(data)


@functools.cache
def load_vectors() -> tuple[Vector, ...]:
    """Return every packaged vector, sorted by id (loaded once; vectors are immutable)."""
    folder = resources.files("memspec").joinpath("vectors")
    vectors = [
        load_vector(f"memspec/vectors/{entry.name}", entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    ids = [vector.id for vector in vectors]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise VectorError(f"vector ids used more than once: {', '.join(duplicates)}")
    return tuple(sorted(vectors, key=lambda vector: vector.id))
