"""Correct managers across seeds: every correct design of the corpus, certified on every
profile it supports once per seed, must stay conformant; prints the verdicts per design.

    python benchmarks/correct_designs.py [--depth quick] [--seeds 20] [--plain]

``--plain`` certifies only the plainly written managers of ``tests/corpus/plain.py`` (which
use none of memspec's helpers), starting a private memcached for the one over memcached.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from corpus.broken import NoClock
from corpus.correct import CORRECT
from corpus.designs import DESIGNS
from corpus.plain import PLAIN
from memcached_server import start_memcached
from memspec.conformance import Target, certify
from memspec.reference import AsyncInMemoryManager, InMemoryManager
from memspec.report import Status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", default="quick", choices=["quick", "default", "thorough"])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--plain", action="store_true", help="only corpus/plain.py")
    args = parser.parse_args()
    managers: tuple[type, ...] = (
        *CORRECT,
        *DESIGNS,
        NoClock,
        InMemoryManager,
        AsyncInMemoryManager,
    )
    if args.plain:
        managers = PLAIN
        server = start_memcached()
        os.environ["MEMSPEC_MEMCACHED"] = server.address
        atexit.register(server.stop)
    print(f"correct managers at depth {args.depth}, {args.seeds} seeds each")
    for factory in managers:
        began, conformant, failed = time.monotonic(), 0, set[str]()
        for seed in range(args.seeds):
            report = certify(
                Target.from_factory(factory, name=f"corpus:{factory.__name__}"),
                depth=args.depth,  # type: ignore[arg-type]
                seed=seed,
                shrink=False,
            )
            conformant += report.conformant
            failed |= {r.id for r in report.requirements if r.status is Status.FAILED}
        print(
            f"{factory.__name__:28} conformant {conformant}/{args.seeds}"
            f"{'  failed: ' + ', '.join(sorted(failed)) if failed else ''}"
            f"  ({time.monotonic() - began:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
