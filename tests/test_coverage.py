"""Every requirement in the catalogue has at least one place that checks it."""

from __future__ import annotations

import ast
from pathlib import Path

from memspec import catalogue, load_vectors
from memspec.catalogue import Scope
from memspec.conformance import all_checks

ROOT = Path(__file__).resolve().parents[1]


def marked_requirements(folder: Path) -> set[str]:
    """IDs named by ``@pytest.mark.requirement(...)`` anywhere under ``folder``."""
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "requirement"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "mark"
            ):
                found.update(
                    arg.value
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                )
    return found


def checked_requirements() -> set[str]:
    """Every requirement ID some vector, conformance check or marked test checks."""
    from_vectors = set().union(*(v.requirement_ids for v in load_vectors()))
    from_checks = {i for check in all_checks() for i in check.requirements}
    return from_vectors | from_checks | marked_requirements(ROOT / "tests")


def test_every_interface_requirement_has_a_conformance_check() -> None:
    from_checks = {i for check in all_checks() for i in check.requirements}
    missing = sorted(
        r.id for r in catalogue().select(None, scope=Scope.INTERFACE) if r.id not in from_checks
    )
    assert missing == []


def test_checks_name_only_catalogue_requirements() -> None:
    known = {r.id for r in catalogue()}
    unknown = {check.name: set(check.requirements) - known for check in all_checks()}
    assert {name: ids for name, ids in unknown.items() if ids} == {}


def test_every_requirement_is_checked_somewhere() -> None:
    checked = checked_requirements()
    unchecked = sorted(r.id for r in catalogue() if r.id not in checked)
    assert unchecked == [], f"requirements with no check at all: {unchecked}"


def test_markers_name_only_catalogue_requirements() -> None:
    unknown = sorted(marked_requirements(ROOT / "tests") - {r.id for r in catalogue()})
    assert unknown == [], f"tests name requirements the catalogue does not have: {unknown}"
