"""The certification report format: what ``memspec certify --report`` writes.

The JSON report, the Markdown report and the badge are all derived from one
:class:`CertificationReport`. ``schemas/report.schema.json`` is generated from these models.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from memspec.catalogue import ID_PATTERN, Level, Profile
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "REPORT_FORMAT",
    "CertificationReport",
    "Environment",
    "RequirementResult",
    "Status",
]

#: Version of the report document's shape.
REPORT_FORMAT = 1


class Status(StrEnum):
    """The verdict on one requirement."""

    PASSED = "passed"
    FAILED = "failed"
    BLOCKED = "blocked"
    """Not judged: a prerequisite failed (see ``blocked_by``). A blocked MUST is not conformant."""
    SKIPPED = "skipped"
    """Not judged: it does not apply to the target, or cannot be observed from outside."""


class RequirementResult(BaseModel):
    """The verdict on one requirement, with what the checks observed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="The requirement's ID.")
    level: Level = Field(description="MUST or SHOULD, from the catalogue.")
    profile: Profile = Field(description="The requirement's profile.")
    status: Status = Field(description="passed, failed, blocked or skipped.")
    message: str = Field(
        description="Why: the witness of a failure (what was expected, what happened), what "
        "blocked it, or why it was skipped."
    )
    checks: tuple[str, ...] = Field(default=(), description="Names of the checks that ran it.")
    blocked_by: tuple[str, ...] = Field(
        default=(), description="For a blocked requirement: the failed prerequisites."
    )
    reproduction: str | None = Field(
        default=None, description="A runnable Python snippet reproducing the failure, if any."
    )
    output: str | None = Field(
        default=None,
        description="What the target logged or printed during the check that failed it.",
    )


class Environment(BaseModel):
    """Where the certification ran."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    python: str = Field(description="Python version.")
    implementation: str = Field(description="Python implementation, e.g. CPython.")
    platform: str = Field(description="Operating system and machine.")


class CertificationReport(BaseModel):
    """The outcome of certifying one target on some profiles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    report_format: Literal[1] = Field(default=1, description="Report format version.")
    spec_version: str = Field(description="Version of the specification certified against.")
    suite_version: str = Field(description="Version of the memspec suite that ran.")
    target: str = Field(description="What was certified, as module:attr.")
    profiles: tuple[Profile, ...] = Field(description="The profiles certified on.")
    conformant: bool = Field(
        description="Every MUST requirement of the profiles the suite can observe passed."
    )
    seed: int = Field(description="Seed of the randomised checks; rerun with it to reproduce.")
    depth: Literal["quick", "default", "thorough"] = Field(description="How hard it searched.")
    started_at: str = Field(description="UTC start time, ISO 8601.")
    duration_seconds: float = Field(ge=0, description="Wall time of the run.")
    environment: Environment
    notes: tuple[str, ...] = Field(
        default=(), description="What happened to the run itself, e.g. it reached --max-time."
    )
    requirements: tuple[RequirementResult, ...] = Field(description="One verdict per requirement.")

    @property
    def warnings(self) -> tuple[RequirementResult, ...]:
        """Failed SHOULD requirements: reported, but not a reason for non-conformance."""
        return tuple(
            r for r in self.requirements if r.status is Status.FAILED and r.level is Level.SHOULD
        )

    @property
    def failures(self) -> tuple[RequirementResult, ...]:
        """Failed MUST requirements."""
        return tuple(
            r for r in self.requirements if r.status is Status.FAILED and r.level is Level.MUST
        )

    @property
    def blocked(self) -> tuple[RequirementResult, ...]:
        """Requirements not judged because a prerequisite failed."""
        return tuple(r for r in self.requirements if r.status is Status.BLOCKED)

    def count(self, status: Status) -> int:
        """How many requirements have this status."""
        return sum(1 for r in self.requirements if r.status is status)
