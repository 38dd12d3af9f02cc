"""What a check reports: which requirements it saw hold, which it saw broken, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["CheckFailure", "CheckOutcome", "Failure", "short"]


def short(value: object, limit: int = 160) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about large inputs."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


@dataclass(frozen=True)
class Failure:
    """A requirement seen broken: the IDs, what was observed, and how to reproduce it."""

    requirement_ids: tuple[str, ...]
    message: str
    reproduction: str | None = None


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

    ``passed`` holds the requirement IDs the check exercised without finding a fault;
    ``skipped`` those it could not exercise, with the reason.
    """

    check: str
    passed: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def fail(self, failure: Failure) -> None:
        """Record a failure; its requirements no longer count as passed by this check."""
        self.failures.append(failure)
        self.passed.difference_update(failure.requirement_ids)

    def pass_(self, requirement_ids: Iterable[str]) -> None:
        """Record requirements seen to hold, unless this check already saw them fail."""
        failed = {i for f in self.failures for i in f.requirement_ids}
        self.passed.update(i for i in requirement_ids if i not in failed)

    def skip(self, requirement_ids: Iterable[str], reason: str) -> None:
        """Record requirements this check could not exercise."""
        for requirement_id in requirement_ids:
            self.skipped.setdefault(requirement_id, reason)
