"""The certification report format: what ``memspec certify --report`` writes.

The JSON report, the Markdown report and the badge are all derived from one
:class:`CertificationReport`. ``schemas/report.schema.json`` is generated from these models.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from memspec.catalogue import ID_PATTERN, Level, Profile
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_DOCS_URL",
    "DOCS_URL_ENV",
    "REPORT_FORMAT",
    "Bound",
    "CertificationReport",
    "Environment",
    "MeasuredLimits",
    "RequirementResult",
    "Status",
    "docs_base_url",
    "requirement_url",
    "spec_page_url",
]

#: Version of the report document's shape.
REPORT_FORMAT = 1

#: Where the documentation site is hosted: one folder per spec version (``1.2.0/``) beside
#: ``latest/``, as ``mike`` deploys it. ``site_url`` in ``mkdocs.yml`` is the same address.
DEFAULT_DOCS_URL = "https://memspec.github.io/memspec/"

#: The environment variable that overrides :data:`DEFAULT_DOCS_URL` (a mirror, a fork).
DOCS_URL_ENV = "MEMSPEC_DOCS_URL"


def docs_base_url(base: str | None = None) -> str:
    """The documentation site's address, ending in ``/``: ``base`` if given, else
    ``$MEMSPEC_DOCS_URL``, else :data:`DEFAULT_DOCS_URL`.

    Raises ``ValueError`` naming the source when it is not an ``http``, ``https`` or ``file``
    URL, so a typo never ends up in every link of a report.
    """
    source, value = "docs_url", base
    if value is None:
        source, value = DOCS_URL_ENV, os.environ.get(DOCS_URL_ENV) or DEFAULT_DOCS_URL
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https", "file"} or not (parts.netloc or parts.path):
        raise ValueError(f"{source} must be an http(s) or file URL, not {value!r}")
    return value if value.endswith("/") else value + "/"


def spec_page_url(spec_version: str, base: str | None = None) -> str:
    """The hosted specification page of ``spec_version``."""
    return f"{docs_base_url(base)}{spec_version}/spec/index.html"


def requirement_url(requirement_id: str, spec_version: str, base: str | None = None) -> str:
    """The anchor of one requirement in the hosted specification of ``spec_version``."""
    return f"{spec_page_url(spec_version, base)}#{requirement_id}"


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
    url: str | None = Field(
        default=None,
        description="Where the requirement's text is: its anchor in the hosted specification "
        "of the report's spec_version.",
    )


class Environment(BaseModel):
    """Where the certification ran."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    python: str = Field(description="Python version.")
    implementation: str = Field(description="Python implementation, e.g. CPython.")
    platform: str = Field(description="Operating system and machine.")


class Bound(BaseModel):
    """How far a manager went along one dimension the suite probed: the largest value tried
    that it accepted and the smallest it refused. A fact about the manager, not a verdict:
    the floors every manager must reach are requirements of their own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Literal["bytes", "items", "seconds"] = Field(description="What the values count.")
    accepted: float | None = Field(
        default=None,
        description="The largest value tried that the manager accepted; null when it refused "
        "every value tried.",
    )
    refused: float | None = Field(
        default=None,
        description="The smallest value tried that it refused; null when it accepted every "
        "value tried, so its bound, if it has one, lies past `accepted`.",
    )
    refused_with: str | None = Field(
        default=None, description="The exception class of that refusal, e.g. ValueError."
    )

    def describe(self) -> str:
        """One line for people: ``at least 16 MiB``, ``1 MiB (refuses 4 MiB: ValueError)``."""
        if self.accepted is None:
            shown = f"refuses {_amount(self.refused, self.unit)}" if self.refused else "not probed"
            return shown + (f" ({self.refused_with})" if self.refused_with else "")
        if self.refused is None:
            return f"at least {_amount(self.accepted, self.unit)}"
        why = f": {self.refused_with}" if self.refused_with else ""
        return (
            f"{_amount(self.accepted, self.unit)} (refuses {_amount(self.refused, self.unit)}{why})"
        )


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    if unit == "bytes":
        for size, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= size:
                return f"{value / size:,.4g} {name}"
        return f"{value:,.0f} bytes"
    if unit == "items":
        return f"{value:,.0f} items"
    spans: tuple[tuple[float, str], ...] = ((365.25 * 86400, "years"), (86400, "days"), (1, "s"))
    for span, name in spans:
        if value >= span:
            return f"{value / span:,.4g} {name}" if value < 1e15 else f"{value:.3g} s"
    return f"{value:g} s"


class MeasuredLimits(BaseModel):
    """The bounds the suite measured on the target, reported for people choosing a manager.

    Each is a fact, never a verdict: a manager may refuse past the contract's floors
    (``MM-LIMIT-004``, ``MM-LIMIT-005``, ``MM-FID-004``, ``MM-TTL-013``). ``None`` means the
    run did not measure it (its profile was not certified, or the probe could not run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: Bound | None = Field(
        default=None, description="Longest conversation ID accepted, in bytes of UTF-8."
    )
    item: Bound | None = Field(
        default=None, description="Largest single item accepted, in bytes of UTF-8."
    )
    items_per_write: Bound | None = Field(
        default=None, description="Most items accepted in one write."
    )
    ttl: Bound | None = Field(default=None, description="Longest finite ttl accepted, seconds.")
    live_slots: int | None = Field(
        default=None,
        ge=0,
        description="Live slots the scale check stored, updated and read back: fewer than its "
        "depth asks for when the manager's calls were too slow to fit in the check's time.",
    )
    infinite_ttl: bool | None = Field(
        default=None, description="Whether the constructor accepts ttl=infinity."
    )
    clock: bool | None = Field(
        default=None, description="Whether the constructor takes an injectable clock."
    )
    expiry_precision: float | None = Field(
        default=None,
        ge=0,
        description="The expiry precision the manager declares (`expiry_precision`), seconds.",
    )
    reopen: bool | None = Field(
        default=None,
        description="Whether a second manager over the same backend (`memspec_reopen`) saw "
        "the first one's writes; null when the target gives no reopen hook or persistence was "
        "not certified.",
    )

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the views, in a fixed order; unmeasured ones left out."""
        rows: list[tuple[str, str]] = []
        for label, bound in (
            ("longest conversation ID", self.conversation_id),
            ("largest item", self.item),
            ("most items in one write", self.items_per_write),
            ("longest finite ttl", self.ttl),
        ):
            if bound is not None:
                rows.append((label, bound.describe()))
        if self.live_slots is not None:
            rows.append(("live slots checked", f"{self.live_slots:,}"))
        for label, flag in (
            ("ttl=inf accepted", self.infinite_ttl),
            ("injectable clock", self.clock),
            ("survives a reopen", self.reopen),
        ):
            if flag is not None:
                rows.append((label, "yes" if flag else "no"))
        if self.expiry_precision is not None:
            rows.append(("declared expiry precision", f"{self.expiry_precision:g} s"))
        return rows


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
    spec_url: str | None = Field(
        default=None,
        description="The hosted specification of spec_version that the target was judged against.",
    )
    limits: MeasuredLimits = Field(
        default_factory=MeasuredLimits,
        description="The target's bounds as the suite measured them: facts, not verdicts.",
    )

    def with_links(self, docs_url: str | None = None) -> CertificationReport:
        """This report with ``spec_url`` and every requirement's ``url`` set, on the site at
        ``docs_url`` (default: :func:`docs_base_url`)."""
        base = docs_base_url(docs_url)
        return self.model_copy(
            update={
                "spec_url": spec_page_url(self.spec_version, base),
                "requirements": tuple(
                    r.model_copy(update={"url": requirement_url(r.id, self.spec_version, base)})
                    for r in self.requirements
                ),
            }
        )

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
