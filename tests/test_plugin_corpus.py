"""The pytest plugin reaches the command's verdict on the whole corpus.

``tests/test_corpus.py`` and ``tests/test_realistic.py`` assert, through the API the command
uses, that every deterministic broken manager fails exactly its ``BREAKS`` and every correct
one is conformant. Here the same managers go through ``pytest --memspec-target`` with the
same depth and seed, and must reach the same verdict with the same failed requirements in the
table the plugin prints: the two interfaces agree on every one of them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from corpus.broken import BROKEN, NoClock
from corpus.correct import CORRECT
from corpus.designs import DESIGNS
from memspec.conformance import all_checks

pytestmark = pytest.mark.filterwarnings("default::memspec.conformance.MemspecWarning")

# pytester drops modules first imported during a test; import the checks once, now.
ALL_CHECKS = all_checks()

#: Races are caught by chance: their verdicts are measured as rates, not compared per run.
ROW = re.compile(r"^(MM-[A-Z]+-\d{3}) +(?:MUST|SHOULD) +\S+ +(FAIL|warn)\b")

CASES = [
    *(
        pytest.param(f"corpus.broken:{cls.__name__}", set(cls.BREAKS), id=cls.__name__)
        for cls in BROKEN
        if not getattr(cls, "RACE", False)
    ),
    *(
        pytest.param(f"{cls.__module__}:{cls.__name__}", set(), id=cls.__name__)
        for cls in (*CORRECT, *DESIGNS, NoClock)
    ),
]


@pytest.mark.parametrize(("target", "breaks"), CASES)
def test_the_plugin_fails_exactly_what_the_command_fails(
    target: str, breaks: set[str], pytester: pytest.Pytester
) -> None:
    result = pytester.runpytest(
        f"--memspec-target={target}",
        "--memspec-depth=quick",
        "--memspec-seed=7",
        "--memspec-no-shrink",
        "-p",
        "no:cacheprovider",
    )
    failed = {m.group(1) for m in map(ROW.match, result.outlines) if m}
    assert failed == breaks, result.outlines[-40:]
    expected: Any = pytest.ExitCode.TESTS_FAILED if breaks else pytest.ExitCode.OK
    assert result.ret == expected
    verdict = "NOT CONFORMANT" if breaks else "CONFORMANT"
    result.stdout.fnmatch_lines([f"{target}: {verdict} on *, seed 7"])
