"""The PostgreSQL managers against a real server: certification, schema, faults, secrets."""

from __future__ import annotations

from typing import Any

import pytest
from memspec.conformance import Target, certify
from memspec.reference.postgres import (
    isolated_async_postgres_manager,
    isolated_postgres_manager,
)
from postgres_server import PostgresServer

pytestmark = pytest.mark.postgres


@pytest.mark.requirement("MM-DUR-001")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_certified_on_every_profile(postgres_server: PostgresServer, is_async: bool) -> None:
    isolated = isolated_async_postgres_manager if is_async else isolated_postgres_manager

    def factory(ttl: float | None = 43200) -> Any:
        return isolated(ttl=ttl, conninfo=postgres_server.url)

    factory.memspec_reopen = isolated.memspec_reopen  # type: ignore[attr-defined]
    factory.memspec_outage = isolated.memspec_outage  # type: ignore[attr-defined]
    report = certify(Target.from_factory(factory, name="postgres"), depth="quick", seed=5)
    expected = ["core", "ttl", "async" if is_async else "concurrency", "persistence"]
    assert [p.value for p in report.profiles] == expected
    assert report.conformant, [r.message for r in report.failures]
