"""Rendering a certification report: the terminal table, Markdown, and an SVG badge.

All three are derived from one :class:`~memspec.report.CertificationReport`, the same object
that is written as JSON, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from memspec.catalogue import Level, catalogue
from memspec.report import CertificationReport, RequirementResult, Status

__all__ = ["badge_svg", "markdown", "summary", "table", "verdict"]

_MARK = {Status.PASSED: "pass", Status.FAILED: "FAIL", Status.SKIPPED: "skip"}


def verdict(report: CertificationReport) -> str:
    """``conformant`` or ``not conformant``."""
    return "conformant" if report.conformant else "not conformant"


def summary(report: CertificationReport) -> str:
    """One line: the verdict, the profiles, and the counts."""
    profiles = ", ".join(p.value for p in report.profiles)
    return (
        f"{report.target}: {verdict(report).upper()} on {profiles} "
        f"— {report.count(Status.PASSED)} passed, {report.count(Status.FAILED)} failed "
        f"({len(report.failures)} MUST, {len(report.warnings)} SHOULD warnings), "
        f"{report.count(Status.SKIPPED)} skipped, in {report.duration_seconds:.1f} s, "
        f"seed {report.seed}"
    )


def _status(result: RequirementResult) -> str:
    if result.status is Status.FAILED and result.level is Level.SHOULD:
        return "warn"
    return _MARK[result.status]


def table(results: Sequence[RequirementResult], width: int = 100) -> str:
    """A requirement-by-requirement table for the terminal."""
    lines = [f"{'requirement':<14}{'level':<8}{'profile':<13}{'status':<8}details"]
    room = max(20, width - 43)
    for result in results:
        message = result.message.replace("\n", " ")
        if len(message) > room:
            message = message[: room - 3] + "..."
        lines.append(
            f"{result.id:<14}{result.level.value:<8}{result.profile.value:<13}"
            f"{_status(result):<8}{message}"
        )
    return "\n".join(lines)


def markdown(report: CertificationReport) -> str:
    """The report as a Markdown document, failures with their reproduction snippets."""
    statements = {r.id: r.statement for r in catalogue().requirements}
    out = [
        f"# memspec certification: `{report.target}`",
        "",
        f"**{verdict(report)}** on {', '.join(f'`{p.value}`' for p in report.profiles)} "
        f"(spec {report.spec_version}, suite {report.suite_version}, depth {report.depth}, "
        f"seed {report.seed}, {report.started_at}, {report.duration_seconds:.1f} s, "
        f"Python {report.environment.python} on {report.environment.platform}).",
        "",
        f"{report.count(Status.PASSED)} passed, {report.count(Status.FAILED)} failed "
        f"({len(report.warnings)} of them SHOULD warnings), "
        f"{report.count(Status.SKIPPED)} skipped.",
        "",
        "| requirement | level | profile | status | details |",
        "|---|---|---|---|---|",
    ]
    for result in report.requirements:
        detail = result.message.replace("|", "\\|").replace("\n", " ")
        out.append(
            f"| `{result.id}` | {result.level.value} | {result.profile.value} | "
            f"{_status(result)} | {detail} |"
        )
    failed = [r for r in report.requirements if r.status is Status.FAILED]
    if failed:
        out += ["", "## Failures"]
        for result in failed:
            out += [
                "",
                f"### `{result.id}` ({result.level.value})",
                "",
                f"> {statements.get(result.id, '')}",
                "",
                result.message,
            ]
            if result.reproduction:
                out += ["", "Reproduce it:", "", "```python", result.reproduction, "```"]
    return "\n".join(out) + "\n"


def badge_svg(report: CertificationReport) -> str:
    """A flat badge: 'memspec <spec version> | conformant' (green) or not (red)."""
    label = f"memspec {report.spec_version}"
    text = f"{verdict(report)}: {'+'.join(p.value for p in report.profiles)}"
    color = "#2e7d32" if report.conformant else "#c62828"
    left, right = 7 * len(label) + 12, 7 * len(text) + 12
    total = left + right
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{escape(label)}: {escape(text)}">'
        f"<title>{escape(label)}: {escape(text)}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        f'font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(text)}</text>'
        f"</g></svg>\n"
    )
