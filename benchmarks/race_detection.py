"""Race detection rates: how often the concurrency checks catch each race bug of the corpus.

Whether one run hits a race is a matter of chance, so the suite's power against races is a
rate over seeds, measured here rather than asserted once in a test. Each race manager is
certified on the one profile that can see it (concurrency, async or persistence), once per
seed, and the rate of non-conformant verdicts is printed with the requirements blamed.

    python benchmarks/race_detection.py [--depth default] [--seeds 20] [--manager NAME]
                                        [--json FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from corpus import broken, heldout2, heldout3, heldout4, realistic, shared
from memspec.conformance import Target, certify
from memspec.report import Status

#: The race bugs of the corpus (``RACE = True``): their one bug shows only under concurrent use.
RACES: tuple[Any, ...] = tuple(
    cls
    for module in (broken, realistic, shared, heldout2, heldout3, heldout4)
    for cls in vars(module).values()
    if isinstance(cls, type) and cls.__dict__.get("RACE", False)
)


def _profile(factory: Any) -> str:
    """The profile whose checks can see the race: several managers, threads or tasks."""
    if getattr(factory, "memspec_reopen", None) is not None and "MM-DUR-003" in factory.BREAKS:
        return "persistence"
    return "async" if factory.__name__.startswith("Async") else "concurrency"


def measure(factory: Any, depth: str, seeds: int) -> dict[str, Any]:
    """Certify ``factory`` on its race's profile once per seed; the detection rate."""
    caught, blamed = 0, collections.Counter[str]()
    began = time.monotonic()
    for seed in range(seeds):
        report = certify(
            Target.from_factory(factory, name=f"corpus:{factory.__name__}"),
            profiles=[_profile(factory)],
            depth=depth,  # type: ignore[arg-type]
            seed=seed,
            shrink=False,
        )
        caught += not report.conformant
        blamed.update(r.id for r in report.requirements if r.status is Status.FAILED)
    return {
        "manager": factory.__name__,
        "breaks": list(factory.BREAKS),
        "caught": caught,
        "seeds": seeds,
        "blamed": dict(sorted(blamed.items())),
        "seconds": round(time.monotonic() - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", default="default", choices=["quick", "default", "thorough"])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--manager",
        action="append",
        choices=[factory.__name__ for factory in RACES],
        help="measure only this race manager (repeatable; default: all)",
    )
    args = parser.parse_args()
    rows = []
    chosen = [f for f in RACES if args.manager is None or f.__name__ in args.manager]
    print(f"race detection at depth {args.depth}, {args.seeds} seeds each")
    for factory in chosen:
        row = measure(factory, args.depth, args.seeds)
        rows.append(row)
        blamed = ", ".join(f"{k} x{v}" for k, v in row["blamed"].items()) or "-"
        print(
            f"{row['manager']:30} {row['caught']:>2}/{row['seeds']}  "
            f"blamed: {blamed}  ({row['seconds']} s)",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
