"""The ``memspec`` command: ``memspec certify module:attr`` and ``memspec requirements``.

Exit status of ``certify``: 0 when the target is conformant on the selected profiles, 1 when
it is not, 2 when it cannot be certified as given (not importable, not callable, no ``ttl``
parameter, missing operations, a profile it cannot take) or the command line is wrong.

Progress goes to standard error, one line per check. Standard output gets the requirement
table (details wrapped to the terminal's width, each failure's captured target output under
it), the run's notes, the first failure's reproduction (or, with ``--report``, where every
reproduction was written) and, last, the one-line summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from memspec import __version__
from memspec.catalogue import ID_PATTERN, Profile, catalogue
from memspec.conformance.checks import DEFAULT_CHECK_TIMEOUT, DEPTHS
from memspec.conformance.driver import DEFAULT_CALL_TIMEOUT
from memspec.conformance.isolation import DEFAULT_MAX_MEMORY, WorkerFailed, call_isolated
from memspec.conformance.report import (
    badge_svg,
    first_reproduction,
    junit_xml,
    limits,
    markdown,
    notes,
    summary,
    table,
)
from memspec.conformance.runner import Progress, certify
from memspec.conformance.target import Target, TargetError, resolve_target
from memspec.report import DEFAULT_DOCS_URL, DOCS_URL_ENV, CertificationReport, docs_base_url

__all__ = [
    "build_parser",
    "docs_url",
    "main",
    "mebibytes",
    "positive_seconds",
    "reproduction_dir",
    "write_report",
    "write_reproductions",
]

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_USAGE = 0, 1, 2

MIB = 1 << 20


def _positive(text: str, unit: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of {unit}, not {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of {unit} greater than 0, not {text}")
    return value


def positive_seconds(text: str) -> float:
    """An option's value as seconds; argparse names the option when it is not a number > 0."""
    return _positive(text, "seconds")


def mebibytes(text: str) -> int:
    """An option's value in MiB, as bytes; argparse names the option unless it is > 0."""
    return max(1, int(_positive(text, "MiB") * MIB))


def docs_url(text: str) -> str:
    """An option's value as the documentation site's address; argparse names the option
    when it is not an http(s) or file URL."""
    try:
        return docs_base_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("docs_url ", "", 1)) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``memspec`` command line; the documentation's options table is generated from it."""
    parser = argparse.ArgumentParser(
        prog="memspec",
        description="Certify conversation memory managers against the memspec contract.",
    )
    parser.add_argument("--version", action="version", version=f"memspec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "certify",
        help="run the conformance suite against a manager",
        description="Run the conformance suite against a manager class or factory.",
    )
    run.add_argument(
        "target",
        metavar="TARGET",
        help="module:attr of a manager class or factory, called with ttl= (and clock= if it "
        "names a clock parameter); the current directory is importable",
    )
    run.add_argument(
        "--profile",
        action="append",
        choices=[p.value for p in Profile],
        help="profile to certify on (repeatable; default: every profile the target supports)",
    )
    depth = run.add_mutually_exclusive_group()
    depth.add_argument("--depth", choices=list(DEPTHS), default="default", help="search depth")
    depth.add_argument(
        "--quick", dest="depth", action="store_const", const="quick", help="same as --depth quick"
    )
    depth.add_argument(
        "--thorough",
        dest="depth",
        action="store_const",
        const="thorough",
        help="same as --depth thorough",
    )
    run.add_argument("--seed", type=int, default=None, help="seed of the randomised checks")
    run.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_CALL_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of a single manager call (default {DEFAULT_CALL_TIMEOUT:g})",
    )
    run.add_argument(
        "--check-timeout",
        type=positive_seconds,
        default=DEFAULT_CHECK_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of a whole check (default {DEFAULT_CHECK_TIMEOUT:g})",
    )
    run.add_argument(
        "--max-time",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="time limit of the whole run: checks not started by then are not run, so their "
        "MUSTs cannot pass (default: none)",
    )
    run.add_argument(
        "--max-memory",
        type=mebibytes,
        default=DEFAULT_MAX_MEMORY,
        metavar="MIB",
        help="address space each check may add to its worker process, in MiB "
        f"(default {DEFAULT_MAX_MEMORY // MIB})",
    )
    run.add_argument(
        "--no-shrink",
        dest="shrink",
        action="store_false",
        help="do not minimise failures found by hypothesis (faster)",
    )
    run.add_argument(
        "--report",
        type=Path,
        metavar="FILE.json",
        help="write the JSON report, and every failure's reproduction to FILE.repro/ID.py",
    )
    run.add_argument("--markdown", type=Path, metavar="FILE.md", help="write a Markdown report")
    run.add_argument(
        "--badge",
        type=Path,
        metavar="FILE.svg",
        help="write an SVG badge, linked to the specification it was judged against",
    )
    run.add_argument(
        "--junit-xml",
        type=Path,
        metavar="FILE.xml",
        help="write JUnit XML for CI: one test case per requirement; a failed MUST is a "
        "failure with its reproduction, a blocked or skipped requirement is skipped with why",
    )
    run.add_argument(
        "--docs-url",
        type=docs_url,
        default=None,
        metavar="URL",
        help=f"the documentation site every report links requirements to (default: "
        f"${DOCS_URL_ENV}, else {DEFAULT_DOCS_URL})",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 on a SHOULD warning too (a leaked thread, say), not only on a failed MUST",
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or table, only the verdict"
    )

    listing = commands.add_parser("requirements", help="list the requirement catalogue")
    listing.add_argument("--profile", action="append", choices=[p.value for p in Profile])
    listing.add_argument("--json", action="store_true", help="print JSON")
    return parser


class _ProgressPrinter:
    """Prints one line per check to a stream, so a long run never looks hung."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: Progress) -> None:
        width = len(str(event.total))
        if event.outcome is None:
            self.stream.write(f"[{event.index:>{width}}/{event.total}] {event.check.name} ... ")
        else:
            outcome = event.outcome
            word = "FAIL" if outcome.failures else ("skip" if not outcome.passed else "ok")
            self.stream.write(f"{word} ({event.seconds:.2f} s)\n")
        self.stream.flush()


def reproduction_dir(report_path: Path) -> Path:
    """Where the reproductions of ``report.json`` go: ``report.repro`` beside it."""
    return report_path.with_suffix(".repro")


def write_report(report: CertificationReport, report_path: Path) -> list[Path]:
    """Write the JSON report to ``report_path`` and every failure's reproduction beside it
    (:func:`write_reproductions`); return the reproduction files written."""
    report_path.write_text(report.model_dump_json(indent=2) + "\n", "utf-8")
    return write_reproductions(report, report_path)


def write_reproductions(report: CertificationReport, report_path: Path) -> list[Path]:
    """Write every failure's reproduction next to the report, one ``ID.py`` each.

    Reproductions of an earlier run left in that directory are removed first, so every file
    there belongs to this report. Returns the files written, in the report's order.
    """
    directory = reproduction_dir(report_path)
    if directory.is_dir():
        for stale in directory.glob("*.py"):
            if re.fullmatch(ID_PATTERN, stale.stem):
                stale.unlink()
    written = []
    for result in (*report.failures, *report.warnings):
        if not result.reproduction:
            continue
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{result.id}.py"
        first_line = (result.message.splitlines() or [""])[0]
        header = (
            f"# memspec {report.suite_version}: reproduces {result.id} ({result.level.value}) "
            f"against {report.target}\n"
            f"# seed {report.seed}, depth {report.depth}: {first_line}\n"
            "# Run it from the directory the target is importable from; it ends in the "
            "assertion that fails.\n\n"
        )
        path.write_text(header + result.reproduction, "utf-8")
        written.append(path)
    return written


def _show_reproductions(report: CertificationReport, written: list[Path] | None) -> None:
    if written is not None:
        for path in written:
            print(f"reproduction of {path.stem}: {path}")
        return
    first = first_reproduction(report)
    if first is None:
        return
    print(f"Reproduce {first.id} ({first.level.value}) with this program; --report writes every")
    print("failure's reproduction to a file:")
    print()
    print(first.reproduction.rstrip() if first.reproduction else "")
    print()


def _resolve_safely(spec: str) -> Target:
    """Import the target once in a worker first: a module that exits or crashes on import
    becomes a usage error instead of ending this process without a verdict."""
    try:
        call_isolated(lambda: resolve_target(spec).name, timeout=120)
    except WorkerFailed as exc:
        first = (str(exc).splitlines() or [""])[0]
        if first.startswith("TargetError: "):
            raise TargetError(first.removeprefix("TargetError: ")) from None
        raise TargetError(f"importing {spec} {first}") from None
    return resolve_target(spec)


def _certify(args: argparse.Namespace) -> int:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        docs_base_url(args.docs_url)
    except ValueError as exc:
        print(f"memspec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        target = _resolve_safely(args.target)
        progress = None if args.quiet else _ProgressPrinter(sys.stderr)
        if progress:
            sys.stderr.write(f"memspec {__version__}: certifying {target.name}\n")
        report = certify(
            target,
            profiles=args.profile,
            depth=args.depth,
            seed=args.seed,
            timeout=args.timeout,
            shrink=args.shrink,
            check_timeout=args.check_timeout,
            progress=progress,
            max_time=args.max_time,
            max_memory=args.max_memory,
            docs_url=args.docs_url,
        )
    except TargetError as exc:
        sys.stderr.flush()
        print(f"memspec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        print(table(report.requirements))
        print()
        for line in limits(report):
            print(line)
        if report.limits.rows():
            print()
    for line in notes(report):
        print(line)
    written = None
    if args.report:
        written = write_report(report, args.report)
    if args.markdown:
        args.markdown.write_text(markdown(report), "utf-8")
    if args.badge:
        args.badge.write_text(badge_svg(report), "utf-8")
    if args.junit_xml:
        args.junit_xml.write_text(junit_xml(report), "utf-8")
    if not args.quiet:
        _show_reproductions(report, written)
    print(summary(report))
    if args.strict and report.conformant and report.warnings:
        count = len(report.warnings)
        verb = "fails" if count == 1 else "fail"
        print(f"memspec: --strict: {count} SHOULD warning{'s' * (count != 1)} {verb} the run")
        return EXIT_NOT_CONFORMANT
    return EXIT_CONFORMANT if report.conformant else EXIT_NOT_CONFORMANT


def _requirements(args: argparse.Namespace) -> int:
    selected = catalogue().select(args.profile)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in selected], indent=2))
        return 0
    for requirement in selected:
        print(
            f"{requirement.id:<14}{requirement.level.value:<8}{requirement.profile.value:<13}"
            f"{requirement.statement}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "certify":
        return _certify(args)
    return _requirements(args)


if __name__ == "__main__":
    sys.exit(main())
