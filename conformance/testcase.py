"""The base test class: subclass it in your own tests and give it a factory fixture.

::

    from memspec.conformance import MemoryManagerConformance

    class TestMyManager(MemoryManagerConformance):
        memspec_profiles = ("core", "ttl", "concurrency")

        @pytest.fixture
        def memory_manager_factory(self):
            return lambda ttl=43200, clock=None: MyManager(ttl=ttl, clock=clock)

Every check of the chosen profiles becomes one test, named after the check. The same class
serves sync and async managers (for an async one, choose ``"async"`` instead of
``"concurrency"``); the suite drives its own event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from memspec.catalogue import Profile
from memspec.conformance.checks import Check, Context, Depth, all_checks, run_check
from memspec.conformance.plugin import settle
from memspec.conformance.runner import inspect_target
from memspec.conformance.target import Target

__all__ = ["MemoryManagerConformance"]


class MemoryManagerConformance:
    """Conformance tests for the manager that ``memory_manager_factory`` builds."""

    #: Profiles to certify on.
    memspec_profiles: ClassVar[tuple[str, ...]] = ("core", "ttl", "concurrency")
    #: Search depth of the randomised checks.
    memspec_depth: ClassVar[Depth] = "quick"
    #: Seed of the randomised checks, fixed so that test runs are repeatable.
    memspec_seed: ClassVar[int] = 0

    @pytest.fixture
    def memory_manager_factory(self) -> Callable[..., Any]:
        """Override: return a callable building a fresh manager from ``ttl=`` (and ``clock=``)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a memory_manager_factory fixture that returns "
            "a callable building a fresh manager from ttl= (and clock=, if it takes a clock)"
        )

    @staticmethod
    def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
        """Parametrise ``memspec_check`` with every check of the class's profiles."""
        if "memspec_check" not in metafunc.fixturenames or metafunc.cls is None:
            return
        profiles = {Profile(p) for p in metafunc.cls.memspec_profiles}
        checks = [check for check in all_checks() if check.profile in profiles]
        metafunc.parametrize("memspec_check", checks, ids=[check.name for check in checks])

    def test_conformance(
        self, memory_manager_factory: Callable[..., Any], memspec_check: Check
    ) -> None:
        """Run one check against the manager and fail with the broken requirements."""
        target = Target.from_factory(
            memory_manager_factory, name=f"{type(self).__qualname__}.memory_manager_factory"
        )
        context = Context(
            target,
            inspect_target(target),
            depth=self.memspec_depth,
            seed=self.memspec_seed,
        )
        outcome = run_check(memspec_check, context)
        settle(outcome)
        assert outcome.passed == set(memspec_check.requirements) - set(outcome.skipped)
