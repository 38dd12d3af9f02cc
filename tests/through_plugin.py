"""Certify a manager once through the pytest plugin and read both interfaces' answers.

The plugin runs :func:`memspec.conformance.certify` with the settings ``memspec certify``
gives it and writes the same JSON report (``--memspec-report``), so one run yields the
report the command would print from and the table, verdict and exit status the plugin
shows: the corpus tests assert both, and so that the two interfaces agree on every manager.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from memspec.report import CertificationReport, Status

__all__ = ["PluginRun", "certified_through_plugin", "certify_through_plugin"]

#: A row of the requirement table for a failed MUST or a SHOULD warning.
_ROW = re.compile(r"^(MM-[A-Z]+-\d{3}) +(?:MUST|SHOULD) +\S+ +(FAIL|warn)\b")


@dataclass(frozen=True)
class PluginRun:
    """What one ``pytest --memspec-target`` run wrote and printed."""

    report: CertificationReport
    table_failed: frozenset[str]
    """Requirements the printed table shows failed (a MUST) or warned (a SHOULD)."""
    result: pytest.RunResult

    @property
    def failed(self) -> set[str]:
        """Requirements the report says failed."""
        return {r.id for r in self.report.requirements if r.status is Status.FAILED}

    def assert_agrees(self) -> None:
        """The table, the exit status and the verdict line say what the report says."""
        assert self.table_failed == self.failed, self.result.outlines[-40:]
        expected = pytest.ExitCode.OK if self.report.conformant else pytest.ExitCode.TESTS_FAILED
        assert self.result.ret == expected, self.result.outlines[-40:]
        verdict = "CONFORMANT" if self.report.conformant else "NOT CONFORMANT"
        self.result.stdout.fnmatch_lines(
            [f"{self.report.target}: {verdict} on *, seed {self.report.seed}"]
        )


def certify_through_plugin(pytester: pytest.Pytester, target: str, seed: int = 7) -> PluginRun:
    """``pytest --memspec-target=TARGET`` at quick depth without shrinking, in-process."""
    path = pytester.path / "memspec-report.json"
    result = pytester.runpytest(
        f"--memspec-target={target}",
        "--memspec-depth=quick",
        f"--memspec-seed={seed}",
        "--memspec-no-shrink",
        f"--memspec-report={path}",
        "-p",
        "no:cacheprovider",
    )
    assert path.exists(), result.outlines[-40:]
    report = CertificationReport.model_validate_json(path.read_text("utf-8"))
    table = frozenset(m.group(1) for m in map(_ROW.match, result.outlines) if m)
    return PluginRun(report, table, result)


def certified_through_plugin(pytester: pytest.Pytester, factory: Any) -> CertificationReport:
    """Certify the class or factory ``factory`` through the plugin (seed 7), assert that the
    plugin's table, exit status and verdict agree with its report, and return the report."""
    run = certify_through_plugin(pytester, f"{factory.__module__}:{factory.__name__}")
    run.assert_agrees()
    return run.report
