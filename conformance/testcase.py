"""The base test class: subclass it in your own tests and give it a factory fixture.

::

    from memspec.conformance import MemoryManagerConformance

    class TestMyManager(MemoryManagerConformance):
        memspec_profiles = ("core", "ttl", "concurrency")

        @pytest.fixture
        def memory_manager_factory(self):
            return lambda ttl=43200, clock=None: MyManager(ttl=ttl, clock=clock)

It reaches the verdict ``memspec certify`` and ``pytest --memspec-target`` reach: every
requirement a check of the chosen profiles judges becomes one test,
``test_conformance[MM-TTL-002:vector:ttl-boundary,...]``; the checks run once per class, in
forked workers, when its first selected test runs; a failed or blocked MUST fails, a
failed SHOULD passes with a :class:`~memspec.conformance.plugin.MemspecWarning`. The same
class serves sync and async managers (for an async one, choose ``"async"`` instead of
``"concurrency"``); the suite drives its own event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from memspec.catalogue import Profile
from memspec.conformance.checks import DEFAULT_CHECK_TIMEOUT, Depth
from memspec.conformance.driver import DEFAULT_CALL_TIMEOUT
from memspec.conformance.isolation import DEFAULT_MAX_MEMORY
from memspec.conformance.plugin import (
    Certification,
    Settings,
    item_name,
    requirement_tests,
    settle,
)
from memspec.conformance.target import Target

__all__ = ["MemoryManagerConformance"]

_PARAMETER = "memspec_requirement"
_RUNS = pytest.StashKey[dict[tuple[str, tuple[tuple[str, str], ...]], Certification]]()


def _other_parameters(item: pytest.Item) -> tuple[tuple[str, str], ...]:
    """A test's parameters besides the requirement: tests sharing them share a run."""
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = {} if callspec is None else callspec.params
    return tuple(sorted((k, repr(v)) for k, v in params.items() if k != _PARAMETER))


def _requirement_of(item: pytest.Item) -> str | None:
    """The requirement a test of the base class settles, or ``None`` for another test."""
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = {} if callspec is None else callspec.params
    value = params.get(_PARAMETER)
    return value if isinstance(value, str) else None


class MemoryManagerConformance:
    """Conformance tests for the manager that ``memory_manager_factory`` builds."""

    #: Profiles to certify on.
    memspec_profiles: ClassVar[tuple[str, ...]] = ("core", "ttl", "concurrency")
    #: Search depth of the randomised checks (``"quick"`` takes seconds).
    memspec_depth: ClassVar[Depth] = "default"
    #: Seed of the randomised checks, fixed so that test runs are repeatable.
    memspec_seed: ClassVar[int] = 0
    #: Time limit of one manager call, of one check, and of all the checks (``None``: none).
    memspec_timeout: ClassVar[float] = DEFAULT_CALL_TIMEOUT
    memspec_check_timeout: ClassVar[float] = DEFAULT_CHECK_TIMEOUT
    memspec_max_time: ClassVar[float | None] = None
    #: Address space (bytes) each check may add to its worker process.
    memspec_max_memory: ClassVar[int] = DEFAULT_MAX_MEMORY
    #: Whether to minimise failures found by hypothesis (slower, shorter reproductions).
    memspec_shrink: ClassVar[bool] = True

    @pytest.fixture
    def memory_manager_factory(self) -> Callable[..., Any]:
        """Override: return a callable building a fresh manager from ``ttl=`` (and ``clock=``)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a memory_manager_factory fixture that returns "
            "a callable building a fresh manager from ttl= (and clock=, if it takes a clock)"
        )

    @staticmethod
    def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
        """Parametrise ``memspec_requirement`` with the requirements the class's profiles'
        checks judge."""
        if _PARAMETER not in metafunc.fixturenames or metafunc.cls is None:
            return
        profiles = {Profile(p) for p in metafunc.cls.memspec_profiles}
        tests = requirement_tests(profiles)
        metafunc.parametrize(
            _PARAMETER,
            [requirement_id for requirement_id, _ in tests],
            ids=[item_name(requirement_id, checks, sep=":") for requirement_id, checks in tests],
        )

    def _memspec_run(
        self, request: pytest.FixtureRequest, factory: Callable[..., Any]
    ) -> Certification:
        """The class's certification run, shared by its tests (and built by the first)."""
        node = request.node
        group = node.parent.nodeid if node.parent is not None else node.nodeid
        key = (group, _other_parameters(node))
        runs = request.config.stash.setdefault(_RUNS, {})
        if key not in runs:
            cls = type(self)
            profiles = tuple(Profile(p) for p in cls.memspec_profiles)
            settings = Settings(
                depth=cls.memspec_depth,
                seed=cls.memspec_seed,
                timeout=cls.memspec_timeout,
                check_timeout=cls.memspec_check_timeout,
                shrink=cls.memspec_shrink,
                max_time=cls.memspec_max_time,
                max_memory=cls.memspec_max_memory,
            )
            target = Target.from_factory(factory, name=f"{cls.__qualname__}.memory_manager_factory")
            tests = tuple(requirement_id for requirement_id, _ in requirement_tests(profiles))
            runs[key] = Certification(target, profiles, settings, tests)
        run = runs[key]
        selected = (
            requirement_id
            for item in request.session.items
            if item.parent is node.parent and _other_parameters(item) == key[1]
            for requirement_id in [_requirement_of(item)]
            if requirement_id is not None
        )
        run.run(selected, request.config)
        return run

    def test_conformance(
        self,
        request: pytest.FixtureRequest,
        memory_manager_factory: Callable[..., Any],
        memspec_requirement: str,
    ) -> None:
        """Settle one requirement from the class's certification run."""
        run = self._memspec_run(request, memory_manager_factory)
        settle(run.result(memspec_requirement))
