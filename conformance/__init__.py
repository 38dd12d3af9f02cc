"""The memspec conformance suite: certify any memory manager against the contract.

Three ways in: ``memspec certify module:attr`` on the command line, ``pytest
--memspec-target=module:attr`` inside a test run, or subclassing
:class:`MemoryManagerConformance` in your own tests. All of them run the same checks and judge
the same requirements from :func:`memspec.catalogue`.
"""

from __future__ import annotations

from memspec.conformance.checks import DEPTHS, Check, Context, Skip, all_checks, run_check
from memspec.conformance.driver import CallTimeout, Driver
from memspec.conformance.plugin import MemspecWarning
from memspec.conformance.results import CheckFailure, CheckOutcome, Failure
from memspec.conformance.runner import Progress, certify, default_profiles, judge
from memspec.conformance.target import FakeClock, Target, TargetError, resolve_target
from memspec.conformance.testcase import MemoryManagerConformance

__all__ = [
    "DEPTHS",
    "CallTimeout",
    "Check",
    "CheckFailure",
    "CheckOutcome",
    "Context",
    "Driver",
    "Failure",
    "FakeClock",
    "MemoryManagerConformance",
    "MemspecWarning",
    "Progress",
    "Skip",
    "Target",
    "TargetError",
    "all_checks",
    "certify",
    "default_profiles",
    "judge",
    "resolve_target",
    "run_check",
]
