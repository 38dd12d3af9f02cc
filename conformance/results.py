"""What a check reports: which requirements it saw hold, which it saw broken, and why.

A requirement is reported failed only with a *witness*: an observation that contradicts that
requirement's own statement, carried by a :class:`Failure`. A check that finds one goes on
judging the other requirements it covers, each in its own probe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

__all__ = ["CheckFailure", "CheckOutcome", "Failure", "short"]


def short(value: object, limit: int = 160) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about large inputs."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


@dataclass(frozen=True)
class Failure:
    """A requirement seen broken: the IDs, the witness, how to reproduce it, and what the
    target logged or printed meanwhile."""

    requirement_ids: tuple[str, ...]
    message: str
    reproduction: str | None = None
    output: str | None = None

    def with_output(self, output: str | None) -> Failure:
        """The same failure carrying the target's captured output."""
        return self if not output else replace(self, output=output)


class CheckFailure(AssertionError):
    """Raised inside a check to report a broken requirement."""

    def __init__(
        self, requirement_ids: Iterable[str], message: str, reproduction: str | None = None
    ):
        self.failure = Failure(tuple(requirement_ids), message, reproduction)
        super().__init__(f"[{', '.join(self.failure.requirement_ids)}] {message}")


@dataclass
class CheckOutcome:
    """The outcome of one check run against one target.

    ``passed`` holds the requirement IDs the check judged without finding a fault,
    ``skipped`` those that do not apply to the target (with the reason), and ``unjudged``
    those a probe did not get to because it stopped at an earlier failure (with the reason).
    """

    check: str
    passed: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    unjudged: dict[str, str] = field(default_factory=dict)
    limits: dict[str, object] = field(default_factory=dict)
    """Facts the check measured about the target's bounds (``MeasuredLimits`` fields), which
    are reported, not judged."""

    @property
    def failed(self) -> set[str]:
        """Every requirement ID some failure of this check names."""
        return {i for f in self.failures for i in f.requirement_ids}

    def fail(self, failure: Failure) -> None:
        """Record a failure; its requirements no longer count as passed by this check."""
        self.failures.append(failure)
        self.passed.difference_update(failure.requirement_ids)
        for requirement_id in failure.requirement_ids:
            self.unjudged.pop(requirement_id, None)

    def pass_(self, requirement_ids: Iterable[str]) -> None:
        """Record requirements seen to hold, unless this check already saw them fail."""
        failed = self.failed
        for requirement_id in requirement_ids:
            if requirement_id not in failed:
                self.passed.add(requirement_id)
                self.unjudged.pop(requirement_id, None)

    def skip(self, requirement_ids: Iterable[str], reason: str) -> None:
        """Record requirements this check cannot exercise on this target."""
        for requirement_id in requirement_ids:
            self.skipped.setdefault(requirement_id, reason)

    def note_limit(self, name: str, value: object) -> None:
        """Record a measured bound of the target under ``name`` (a ``MeasuredLimits`` field)."""
        self.limits[name] = value

    def leave(self, requirement_ids: Iterable[str], reason: str) -> None:
        """Record requirements a probe stopped before judging."""
        judged = self.failed | self.passed
        for requirement_id in requirement_ids:
            if requirement_id not in judged:
                self.unjudged.setdefault(requirement_id, reason)

    @property
    def status(self) -> str:
        """``failed``, ``passed`` or ``skipped``: the check as a whole, for progress lines."""
        if self.failures:
            return "failed"
        return "passed" if self.passed else "skipped"
