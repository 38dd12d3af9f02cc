"""The requirement catalogue: its file, its schema and its API."""

from __future__ import annotations

import re
from pathlib import Path

import memspec
import pytest
from memspec.catalogue import ID_PATTERN, CatalogueError, Level, Profile, Scope, load_catalogue

SPEC = Path(__file__).resolve().parents[1] / "spec"


def test_packaged_catalogue_loads_with_unique_ids() -> None:
    catalogue = memspec.catalogue()
    ids = [r.id for r in catalogue.requirements]
    assert len(ids) == len(set(ids))
    assert all(re.match(ID_PATTERN, i) for i in ids)
    assert catalogue.spec_version == "1.5.0"


def test_every_profile_has_must_requirements() -> None:
    for profile in Profile:
        musts = [r for r in memspec.requirements([profile]) if r.level is Level.MUST]
        assert musts, f"profile {profile.value} has no MUST requirement"


def test_select_filters_by_profile_and_scope() -> None:
    catalogue = memspec.catalogue()
    ttl = catalogue.select(["ttl"])
    assert ttl and all(r.profile is Profile.TTL for r in ttl)
    interface = catalogue.select(None, scope=Scope.INTERFACE)
    assert interface and all(r.scope is Scope.INTERFACE for r in interface)
    assert len(catalogue.select(None)) == len(catalogue)


def test_get_names_unknown_ids() -> None:
    assert memspec.catalogue().get("MM-STORE-001").level is Level.MUST
    with pytest.raises(KeyError, match="MM-NOPE-001"):
        memspec.catalogue().get("MM-NOPE-001")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(text, "utf-8")
    return path


GOOD_ENTRY = """
[[requirements]]
id = "MM-X-001"
level = "MUST"
profile = "core"
area = "operations"
scope = "interface"
statement = "s"
rationale = "r"
"""


def test_a_valid_custom_catalogue_loads(tmp_path: Path) -> None:
    loaded = load_catalogue(_write(tmp_path, 'spec_version = "2.0.0"\n' + GOOD_ENTRY))
    assert [r.id for r in loaded] == ["MM-X-001"]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (
            'spec_version = "1.0.0"\n' + GOOD_ENTRY.replace('"MUST"', '"MAY"'),
            "requirements/0/level",
        ),
        (
            'spec_version = "1.0.0"\n' + GOOD_ENTRY.replace("MM-X-001", "STORE-1"),
            "requirements/0/id",
        ),
        (GOOD_ENTRY, "spec_version"),
        ('spec_version = "1.0.0"\n' + GOOD_ENTRY * 2, "more than once"),
        ('spec_version = "1.0.0"\n[[requirements]\n', "not valid TOML"),
    ],
)
def test_an_invalid_catalogue_is_rejected_with_the_place(
    tmp_path: Path, text: str, complaint: str
) -> None:
    with pytest.raises(CatalogueError, match=re.escape(complaint)):
        load_catalogue(_write(tmp_path, text))


def test_the_file_on_disk_is_the_packaged_one() -> None:
    assert load_catalogue(SPEC / "requirements.toml") == memspec.catalogue()
