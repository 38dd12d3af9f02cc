"""The ``memspec`` command: ``memspec certify module:attr`` and ``memspec requirements``.

Exit status of ``certify``: 0 when the target is conformant on the selected profiles, 1 when
it is not, 2 when it cannot be certified as given (not importable, not callable, no ``ttl``
parameter, missing operations) or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from memspec import __version__
from memspec.catalogue import Profile, catalogue
from memspec.conformance.checks import DEFAULT_CHECK_TIMEOUT, DEPTHS
from memspec.conformance.report import badge_svg, markdown, summary, table
from memspec.conformance.runner import Progress, certify
from memspec.conformance.target import TargetError, resolve_target

__all__ = ["main"]

EXIT_CONFORMANT, EXIT_NOT_CONFORMANT, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
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
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time limit of a single manager call (default 10)",
    )
    run.add_argument(
        "--check-timeout",
        type=float,
        default=DEFAULT_CHECK_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of a whole check (default {DEFAULT_CHECK_TIMEOUT:g})",
    )
    run.add_argument(
        "--no-shrink",
        dest="shrink",
        action="store_false",
        help="do not minimise failures found by hypothesis (faster)",
    )
    run.add_argument("--report", type=Path, metavar="FILE.json", help="write the JSON report")
    run.add_argument("--markdown", type=Path, metavar="FILE.md", help="write a Markdown report")
    run.add_argument("--badge", type=Path, metavar="FILE.svg", help="write an SVG badge")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress, only the verdict")

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


def _certify(args: argparse.Namespace) -> int:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target = resolve_target(args.target)
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
        )
    except TargetError as exc:
        print(f"memspec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        print(table(report.requirements))
        print()
    print(summary(report))
    if args.report:
        args.report.write_text(report.model_dump_json(indent=2) + "\n", "utf-8")
    if args.markdown:
        args.markdown.write_text(markdown(report), "utf-8")
    if args.badge:
        args.badge.write_text(badge_svg(report), "utf-8")
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
    args = _parser().parse_args(argv)
    if args.command == "certify":
        return _certify(args)
    return _requirements(args)


if __name__ == "__main__":
    sys.exit(main())
