"""The held-out figure: how many bugs the suite catches in managers it was never tuned on.

Certifies every manager of a held-out set (``tests/corpus/heldout.py``, ``heldout2.py``,
``heldout3.py`` or ``heldout4.py``) at one depth and seed, and prints for each whether it was
caught, what was blamed, and whether the blame is exact (the failed set equals the manager's
``BREAKS``) or at least precise (every failed requirement is one it breaks).

    python benchmarks/heldout.py [--set heldout2] [--depth default] [--seed 7]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from memspec.conformance import Target, certify
from memspec.report import Status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", default="heldout2", choices=["heldout", "heldout2", "heldout3", "heldout4"]
    )
    parser.add_argument("--depth", default="default", choices=["quick", "default", "thorough"])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    module = importlib.import_module(f"corpus.{args.set}")
    managers = getattr(module, args.set.upper())
    caught = exact = precise = buggy = correct = 0
    print(f"{args.set}: {len(managers)} managers, depth {args.depth}, seed {args.seed}")
    for factory in managers:
        began = time.monotonic()
        report = certify(
            Target.from_factory(factory, name=f"corpus:{factory.__name__}"),
            depth=args.depth,  # type: ignore[arg-type]
            seed=args.seed,
            shrink=False,
        )
        failed = {r.id for r in report.requirements if r.status is Status.FAILED}
        breaks = set(factory.BREAKS)
        if not breaks:  # correct under the current catalogue: a catalogue change made it so
            correct += report.conformant
            verdict = "correct" if report.conformant else "FAILED"
            print(
                f"{factory.__name__:34} {verdict:7} failed: {', '.join(sorted(failed)) or '-'}"
                f"  (breaks nothing since {factory.CORRECT_SINCE}; "  # type: ignore[attr-defined]
                f"{time.monotonic() - began:.0f} s)",
                flush=True,
            )
            continue
        buggy += 1
        caught += not report.conformant
        exact += failed == breaks
        precise += bool(failed) and failed <= breaks
        verdict = "caught" if not report.conformant else "MISSED"
        print(
            f"{factory.__name__:34} {verdict:6}  failed: {', '.join(sorted(failed)) or '-'}"
            f"  (breaks {', '.join(sorted(breaks))}; {time.monotonic() - began:.0f} s)",
            flush=True,
        )
    tail = (
        f"; {correct} of {len(managers) - buggy} correct ones conformant"
        if buggy < len(managers)
        else ""
    )
    print(f"caught {caught}/{buggy}, exact {exact}, precise {precise}{tail}")


if __name__ == "__main__":
    main()
