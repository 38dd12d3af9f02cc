"""The pytest plugin: ``pytest --memspec-target=module:attr`` certifies a manager in a test run."""

from __future__ import annotations

import pytest

__all__ = ["pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--memspec-target``."""
    group = parser.getgroup("memspec", "memory-manager conformance")
    group.addoption(
        "--memspec-target",
        default=None,
        metavar="MODULE:ATTR",
        help="certify this memory-manager class or factory as part of the test run",
    )
