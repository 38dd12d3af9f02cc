"""Rendering a certification report: the terminal table, Markdown, and an SVG badge.

All of them, and the JUnit XML for CI systems, are derived from one
:class:`~memspec.report.CertificationReport`, the same object that is written as JSON, so they
never disagree. ``memspec certify`` and the pytest plugin print the same :func:`table`,
:func:`notes` and :func:`summary`.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from html import escape

from memspec.catalogue import Level, catalogue
from memspec.report import CertificationReport, RequirementResult, Status

__all__ = [
    "badge_svg",
    "details",
    "first_reproduction",
    "junit_xml",
    "limits",
    "markdown",
    "notes",
    "output_excerpt",
    "status_word",
    "summary",
    "table",
    "tally",
    "verdict",
]

_MARK = {
    Status.PASSED: "pass",
    Status.FAILED: "FAIL",
    Status.BLOCKED: "blocked",
    Status.SKIPPED: "skip",
}

#: Widths of the table's columns before the details column.
_COLUMNS = (("requirement", 14), ("level", 8), ("profile", 13), ("status", 8))
_DETAILS_AT = sum(width for _, width in _COLUMNS)

#: Narrower than this, the details column moves under each row, indented by ``_NARROW``.
_MIN_DETAILS = 20
_NARROW = 4

#: Lines of a failure's captured output the table shows (its last ones).
_OUTPUT_LINES = 8


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def verdict(report: CertificationReport) -> str:
    """``conformant`` or ``not conformant``."""
    return "conformant" if report.conformant else "not conformant"


def tally(report: CertificationReport) -> str:
    """The counts: ``N passed, N failed, N blocked, N warnings (SHOULD), N skipped``.

    ``failed`` counts MUST failures; a failed SHOULD is a warning, counted apart.
    """
    return (
        f"{report.count(Status.PASSED)} passed, {len(report.failures)} failed, "
        f"{report.count(Status.BLOCKED)} blocked, "
        f"{_plural(len(report.warnings), 'warning')} (SHOULD), "
        f"{report.count(Status.SKIPPED)} skipped"
    )


def summary(report: CertificationReport) -> str:
    """One line: the verdict, the profiles, the counts, the time and the seed."""
    profiles = ", ".join(p.value for p in report.profiles)
    return (
        f"{report.target}: {verdict(report).upper()} on {profiles} — {tally(report)}, "
        f"in {report.duration_seconds:.1f} s, seed {report.seed}"
    )


def notes(report: CertificationReport) -> list[str]:
    """What happened to the run itself (it reached ``--max-time``, ...), one line each."""
    return [f"note: {note}" for note in report.notes]


def limits(report: CertificationReport) -> list[str]:
    """The table's footer: the bounds the suite measured, facts and not verdicts, one line
    each (none when nothing was measured)."""
    rows = report.limits.rows()
    if not rows:
        return []
    width = max(len(label) for label, _ in rows)
    return ["measured limits (facts, not verdicts):"] + [
        f"  {label.ljust(width)}  {value}" for label, value in rows
    ]


def status_word(result: RequirementResult) -> str:
    """``pass``, ``FAIL``, ``warn`` (a failed SHOULD), ``blocked`` or ``skip``."""
    if result.status is Status.FAILED and result.level is Level.SHOULD:
        return "warn"
    return _MARK[result.status]


def details(result: RequirementResult) -> str:
    """What the table says about a result: the witness of a failure in full, what blocked
    it, why it was skipped, or how many checks saw it hold."""
    if result.status is Status.BLOCKED and result.blocked_by:
        return f"blocked by {', '.join(result.blocked_by)}"
    return result.message


def _wrap(text: str, width: int) -> list[str]:
    """``text`` wrapped to ``width``, each of its lines on its own, nothing cut."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        indent = paragraph[: len(paragraph) - len(paragraph.lstrip())]
        lines += textwrap.wrap(
            paragraph,
            width,
            subsequent_indent=indent if len(indent) < width // 2 else "",
            break_on_hyphens=False,
        ) or [""]
    return lines


def output_excerpt(output: str, width: int, lines: int = _OUTPUT_LINES) -> list[str]:
    """The last ``lines`` lines of a target's captured output, each cut to ``width``."""
    kept = output.strip("\n").splitlines()
    head = "target output:"
    if len(kept) > lines:
        head = f"target output (last {lines} of {len(kept)} lines):"
        kept = kept[-lines:]
    cut = [line if len(line) <= width else line[: max(1, width - 3)] + "..." for line in kept]
    return [head, *cut]


def table(results: Sequence[RequirementResult], width: int | None = None) -> str:
    """A requirement-by-requirement table for the terminal.

    Details are wrapped to ``width`` columns (the terminal's width by default), continued
    under the details column (on a terminal too narrow for that column, they go under each
    row); a failure's captured target output follows it, indented.
    """
    if width is None:
        width = shutil.get_terminal_size().columns
    narrow = width - _DETAILS_AT < _MIN_DETAILS
    room = max(_MIN_DETAILS, width - _NARROW) if narrow else width - _DETAILS_AT
    pad = " " * (_NARROW if narrow else _DETAILS_AT)
    lines = ["".join(f"{name:<{size}}" for name, size in _COLUMNS) + "details"]
    for result in results:
        row = (
            f"{result.id:<14}{result.level.value:<8}{result.profile.value:<13}"
            f"{status_word(result):<8}"
        )
        wrapped = _wrap(details(result), room)
        if narrow:
            lines.append(row.rstrip())
        else:
            lines.append((row + wrapped.pop(0)).rstrip())
        lines += [(pad + line).rstrip() for line in wrapped]
        if result.status is Status.FAILED and result.output and result.output.strip():
            head, *output = output_excerpt(result.output, room - 2)
            lines.append(pad + head)
            lines += [(pad + "  " + line).rstrip() for line in output]
    return "\n".join(lines)


def first_reproduction(report: CertificationReport) -> RequirementResult | None:
    """The first failure that carries a reproduction: a MUST failure if any has one."""
    for result in (*report.failures, *report.warnings):
        if result.reproduction:
            return result
    return None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _linked_id(result: RequirementResult) -> str:
    """The requirement's ID in code style, linked to its hosted text when the report has it."""
    return f"[`{result.id}`]({result.url})" if result.url else f"`{result.id}`"


def markdown(report: CertificationReport) -> str:
    """The report as a Markdown document: the table, then every failure with its
    reproduction and output, every warning, and what blocked each blocked requirement.
    Requirement IDs and the spec version link to the hosted specification when the report
    carries its links."""
    statements = {r.id: r.statement for r in catalogue().requirements}
    spec = f"[{report.spec_version}]({report.spec_url})" if report.spec_url else report.spec_version
    out = [
        f"# memspec certification: `{report.target}`",
        "",
        f"**{verdict(report)}** on {', '.join(f'`{p.value}`' for p in report.profiles)} "
        f"(spec {spec}, suite {report.suite_version}, depth {report.depth}, "
        f"seed {report.seed}, {report.started_at}, {report.duration_seconds:.1f} s, "
        f"Python {report.environment.python} on {report.environment.platform}).",
        "",
        f"{tally(report)}.",
    ]
    if report.notes:
        out += ["", *(f"- Note: {note}" for note in report.notes)]
    out += [
        "",
        "| requirement | level | profile | status | details |",
        "|---|---|---|---|---|",
    ]
    for result in report.requirements:
        out.append(
            f"| {_linked_id(result)} | {result.level.value} | {result.profile.value} | "
            f"{status_word(result)} | {_cell(details(result))} |"
        )
    for title, results in (("Failures", report.failures), ("Warnings (SHOULD)", report.warnings)):
        if not results:
            continue
        out += ["", f"## {title}"]
        for result in results:
            out += [
                "",
                f"### {_linked_id(result)} ({result.level.value})",
                "",
                f"> {statements.get(result.id, '')}",
                "",
                result.message,
            ]
            if result.reproduction:
                out += ["", "Reproduce it:", "", "```python", result.reproduction.rstrip(), "```"]
            if result.output and result.output.strip():
                out += ["", "What the target logged or printed:", "", "```text"]
                out += [result.output.strip("\n"), "```"]
    if report.limits.rows():
        out += [
            "",
            "## Measured limits",
            "",
            "Facts about this manager, not verdicts: past the contract's floors a manager may "
            "refuse with `ValueError`.",
            "",
            "| limit | measured |",
            "|---|---|",
            *(f"| {label} | {_cell(value)} |" for label, value in report.limits.rows()),
        ]
    if report.blocked:
        out += [
            "",
            "## Blocked",
            "",
            "Not judged while a prerequisite fails; fix the prerequisite first.",
            "",
        ]
        for result in report.blocked:
            blockers = ", ".join(f"`{b}`" for b in result.blocked_by) or "a failed prerequisite"
            out.append(f"- {_linked_id(result)} ({result.level.value}): blocked by {blockers}")
    return "\n".join(out) + "\n"


def badge_svg(report: CertificationReport) -> str:
    """A flat badge: 'memspec <spec version> | conformant' (green) or not (red), linking to
    the hosted specification it was judged against when the report carries that link."""
    label = f"memspec {report.spec_version}"
    text = f"{verdict(report)}: {'+'.join(p.value for p in report.profiles)}"
    color = "#2e7d32" if report.conformant else "#c62828"
    left, right = 7 * len(label) + 12, 7 * len(text) + 12
    total = left + right
    body = (
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        f'font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(text)}</text>'
        f"</g>"
    )
    if report.spec_url:
        body = f'<a href="{escape(report.spec_url)}">{body}</a>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{escape(label)}: {escape(text)}">'
        f"<title>{escape(label)}: {escape(text)}</title>{body}</svg>\n"
    )


#: What XML 1.0 cannot carry (C0 controls but tab and newlines, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    """``text`` with every character XML cannot carry written as its Python escape."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


def _junit_text(result: RequirementResult, statement: str) -> str:
    """A failure's body: the requirement, the witness, the reproduction, the target output."""
    parts = [f"{result.id} ({result.level.value}): {statement}"]
    if result.url:
        parts.append(f"Specification: {result.url}")
    parts.append(result.message)
    if result.reproduction:
        parts += ["Reproduce it with this program:", result.reproduction.rstrip()]
    if result.output and result.output.strip():
        parts += ["What the target logged or printed:", result.output.strip("\n")]
    return _xml_safe("\n\n".join(parts) + "\n")


def junit_xml(report: CertificationReport) -> str:
    """The report as JUnit XML, the format CI systems show as test results.

    One ``testcase`` per requirement (``classname`` ``memspec.<profile>``, ``name`` its ID). A
    failed MUST is a ``failure`` whose message is the witness and whose text adds the
    requirement, its link, the reproduction and the target's output. Blocked and skipped
    requirements are ``skipped`` with the reason (a blocked MUST still makes the run not
    conformant: its prerequisite's failure is in the same file). A failed SHOULD passes, as it
    does in the pytest plugin, with the warning in ``system-out``. The suite's properties
    record the verdict, spec version and link, seed and depth, and each measured limit
    (``limit: <what>``); the run's notes go to its ``system-out``.
    """
    statements = {r.id: r.statement for r in catalogue().requirements}
    failures = len(report.failures)
    skipped = report.count(Status.SKIPPED) + report.count(Status.BLOCKED)
    seconds = f"{report.duration_seconds:.3f}"
    suites = ET.Element(
        "testsuites",
        name="memspec",
        tests=str(len(report.requirements)),
        failures=str(failures),
        errors="0",
        time=seconds,
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"memspec certify {report.target}",
        tests=str(len(report.requirements)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=seconds,
        timestamp=report.started_at,
    )
    properties = ET.SubElement(suite, "properties")
    facts = {
        "target": _xml_safe(report.target),
        "conformant": str(report.conformant).lower(),
        "profiles": ",".join(p.value for p in report.profiles),
        "spec_version": report.spec_version,
        "spec_url": report.spec_url or "",
        "suite_version": report.suite_version,
        "seed": str(report.seed),
        "depth": report.depth,
    }
    for label, value in report.limits.rows():
        facts[f"limit: {label}"] = value
    for name, value in facts.items():
        ET.SubElement(properties, "property", name=name, value=value)
    for result in report.requirements:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"memspec.{result.profile.value}",
            name=result.id,
            time="0",
        )
        statement = statements.get(result.id, "")
        if result.status is Status.FAILED and result.level is Level.MUST:
            failure = ET.SubElement(
                case,
                "failure",
                type="memspec.MUST",
                message=_xml_safe((result.message.splitlines() or [""])[0]),
            )
            failure.text = _junit_text(result, statement)
        elif result.status in (Status.SKIPPED, Status.BLOCKED):
            ET.SubElement(case, "skipped", message=_xml_safe(details(result)))
        elif result.status is Status.FAILED:
            out = ET.SubElement(case, "system-out")
            out.text = "warning (SHOULD, not a reason for non-conformance)\n\n" + _junit_text(
                result, statement
            )
        elif result.url:
            ET.SubElement(case, "system-out").text = f"{statement}\nSpecification: {result.url}\n"
    if report.notes:
        notes_text = "".join(f"note: {note}\n" for note in report.notes)
        ET.SubElement(suite, "system-out").text = _xml_safe(notes_text)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
