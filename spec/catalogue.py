"""The requirement catalogue: load ``requirements.toml``, validate it, and query it.

The catalogue is the single source of every normative rule. The conformance suite, its
reports and the documentation all read it through :func:`catalogue`; nothing copies it.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Iterator
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Area",
    "Catalogue",
    "CatalogueError",
    "Level",
    "Profile",
    "Requirement",
    "Scope",
    "catalogue",
    "load_catalogue",
    "requirements",
]

#: The pattern every requirement ID follows, e.g. ``MM-STORE-003``.
ID_PATTERN = r"^MM-[A-Z]+-[0-9]{3}$"


class Level(StrEnum):
    """How binding a requirement is (RFC 2119 keywords)."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Profile(StrEnum):
    """A group of requirements that ``memspec certify`` can select."""

    CORE = "core"
    TTL = "ttl"
    CONCURRENCY = "concurrency"
    ASYNC = "async"
    PERSISTENCE = "persistence"


class Area(StrEnum):
    """The section of the specification a requirement belongs to."""

    DATA_MODEL = "data-model"
    OPERATIONS = "operations"
    TTL = "ttl"
    ISOLATION = "isolation"
    FIDELITY = "fidelity"
    CONCURRENCY = "concurrency"
    DURABILITY = "durability"
    ERRORS = "errors"
    SECURITY = "security"
    LIMITS = "limits"
    RESOURCES = "resources"


class Scope(StrEnum):
    """Whether the conformance suite can observe a requirement through the four operations."""

    INTERFACE = "interface"
    IMPLEMENTATION = "implementation"


class Requirement(BaseModel):
    """One normative rule with a stable ID."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Stable ID; never reused or renumbered.")
    level: Level = Field(description="MUST or SHOULD.")
    profile: Profile = Field(description="The certification profile it belongs to.")
    area: Area = Field(description="The section of the specification it belongs to.")
    scope: Scope = Field(
        description="`interface`: checked by the suite; `implementation`: by implementations."
    )
    statement: str = Field(min_length=1, description="The normative sentence.")
    rationale: str = Field(min_length=1, description="Why the rule exists.")
    prerequisites: tuple[str, ...] = Field(
        default=(),
        description="IDs that must hold for this requirement to be judged: while one of them "
        "fails, this one is reported blocked.",
    )
    withdrawn: str | None = Field(
        default=None, description="Spec version that withdrew it; the ID stays reserved."
    )

    @property
    def active(self) -> bool:
        """Whether the requirement is in force (not withdrawn)."""
        return self.withdrawn is None


class Catalogue(BaseModel):
    """Every requirement of one version of the specification, in catalogue order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec_version: str = Field(
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="Version of the specification."
    )
    requirements: tuple[Requirement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Catalogue:
        seen: set[str] = set()
        for requirement in self.requirements:
            if requirement.id in seen:
                raise ValueError(f"requirement ID {requirement.id} appears more than once")
            seen.add(requirement.id)
        for requirement in self.requirements:
            for prerequisite in requirement.prerequisites:
                if prerequisite not in seen or prerequisite == requirement.id:
                    raise ValueError(
                        f"{requirement.id} names {prerequisite} as a prerequisite, which is "
                        "not another requirement of the catalogue"
                    )
        self._acyclic()
        return self

    def _acyclic(self) -> None:
        graph = {r.id: r.prerequisites for r in self.requirements}
        done: set[str] = set()

        def visit(node: str, path: tuple[str, ...]) -> None:
            if node in path:
                raise ValueError(f"prerequisites form a cycle: {' -> '.join((*path, node))}")
            if node in done:
                return
            for prerequisite in graph[node]:
                visit(prerequisite, (*path, node))
            done.add(node)

        for node in graph:
            visit(node, ())

    def prerequisites_of(self, requirement_id: str) -> tuple[str, ...]:
        """Every requirement ``requirement_id`` depends on, directly or through others."""
        graph = {r.id: r.prerequisites for r in self.requirements}
        found: dict[str, None] = {}
        pending = list(graph[requirement_id])
        while pending:
            node = pending.pop(0)
            if node not in found:
                found[node] = None
                pending.extend(graph[node])
        return tuple(found)

    def __iter__(self) -> Iterator[Requirement]:  # type: ignore[override]
        return iter(r for r in self.requirements if r.active)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, requirement_id: object) -> bool:
        return any(r.id == requirement_id for r in self)

    def get(self, requirement_id: str) -> Requirement:
        """Return the requirement with this ID; ``KeyError`` names unknown IDs."""
        for requirement in self.requirements:
            if requirement.id == requirement_id:
                return requirement
        raise KeyError(f"no requirement {requirement_id!r} in catalogue {self.spec_version}")

    def select(
        self,
        profiles: Iterable[Profile | str] | None = None,
        *,
        scope: Scope | str | None = None,
    ) -> tuple[Requirement, ...]:
        """Return the active requirements of the given profiles (all when ``None``)."""
        wanted = None if profiles is None else {Profile(p) for p in profiles}
        return tuple(
            r
            for r in self
            if (wanted is None or r.profile in wanted) and (scope is None or r.scope == scope)
        )


class CatalogueError(ValueError):
    """A catalogue file is not valid against ``schemas/catalogue.schema.json``."""


def _schema() -> dict[str, Any]:
    from memspec.schemas import load_schema

    return load_schema("catalogue")


def load_catalogue(source: Path | str | None = None) -> Catalogue:
    """Load and validate a catalogue file (the packaged one when ``source`` is ``None``).

    Raises :class:`CatalogueError` naming the path inside the file that is wrong.
    """
    if source is None:
        text = resources.files("memspec").joinpath("requirements.toml").read_text("utf-8")
        origin = "memspec/requirements.toml"
    else:
        text = Path(source).read_text("utf-8")
        origin = str(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{origin}: not valid TOML: {exc}") from exc
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(_schema()).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise CatalogueError(f"{origin}: at {where}: {error.message}")
    try:
        return Catalogue.model_validate(data)
    except ValueError as exc:
        raise CatalogueError(f"{origin}: {exc}") from exc


@functools.cache
def catalogue() -> Catalogue:
    """Return the packaged catalogue (loaded and validated once; it is immutable)."""
    return load_catalogue()


def requirements(profiles: Iterable[Profile | str] | None = None) -> tuple[Requirement, ...]:
    """Return the active requirements of the packaged catalogue, optionally by profile."""
    return catalogue().select(profiles)
