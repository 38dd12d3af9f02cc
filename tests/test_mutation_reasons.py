"""The reasons ``make mutation`` gives for its surviving mutants stay true to the code.

The run itself takes most of an hour and is not part of ``make test``; what is checked here
is the file that explains its survivors (``benchmarks/mutation-survivors.toml``): every entry
still names code that exists, so an edit of the mutated files that moves or removes a line
fails here instead of leaving the list silently stale, and the matching of survivors to
reasons does what the tool's summary says.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "memspec_mutation_tool", ROOT / "tools" / "mutation.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


def _lines_by_definition(path: Path) -> dict[str, set[str]]:
    """Source lines (stripped) per innermost enclosing function or class; "" for the module."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    owner = [""] * (len(lines) + 1)
    definitions = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    # Outer definitions first, so that inner ones overwrite the lines they own. A decorator
    # stays with the definition around the decorated one, as cosmic-ray names it.
    for node in sorted(definitions, key=lambda n: (n.lineno, -(n.end_lineno or n.lineno))):
        for number in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            owner[number] = node.name
    found: dict[str, set[str]] = {}
    for number, text in enumerate(lines, start=1):
        found.setdefault(owner[number], set()).add(text.strip())
    return found


REASONS = tool.load_reasons()


def test_the_reasons_file_is_well_formed_and_covers_both_kinds() -> None:
    assert REASONS
    assert {reason.kind for reason in REASONS} <= set(tool.KINDS)
    assert all(reason.reason.strip() for reason in REASONS)


@pytest.mark.parametrize(
    "reason", REASONS, ids=lambda r: f"{r.path}:{r.function or '<module>'}:{r.lines[:1]}"
)
def test_every_reason_names_code_that_exists(reason: Any) -> None:
    definitions = _lines_by_definition(ROOT / reason.path)
    function = reason.function
    assert function in definitions, f"no definition {function!r} in {reason.path}"
    missing = [line for line in reason.lines if line not in definitions[function]]
    assert not missing, f"lines no longer in {function or 'the module'}: {missing}"


def _mutant(function: str | None, line: int, outcome: str = "survived") -> Any:
    return tool.Mutant(
        path="reference/in_memory.py",
        line=line,
        function=function,
        operator="core/ReplaceComparisonOperator_GtE_Gt",
        occurrence=0,
        outcome=outcome,
        diff="",
        output="",
    )


def test_survivors_are_paired_with_the_first_reason_that_covers_them() -> None:
    source = {"reference/in_memory.py": ["x = 1", "    if now >= gate:", "    total += 1"]}
    reasons = [
        tool.Reason(
            "reference/in_memory.py", "store", "equivalent", "the gate", ("if now >= gate:",)
        ),
        tool.Reason("reference/in_memory.py", "stats", "outside", "extra API"),
        tool.Reason("reference/in_memory.py", "", "equivalent", "a constant", ("x = 1",)),
    ]
    gate, counter, constant = _mutant("store", 2), _mutant("stats", 3), _mutant(None, 1)
    stray, killed = _mutant("store", 3), _mutant("retrieve", 2, outcome="killed")
    explained, unexplained = tool.explain([gate, counter, constant, stray, killed], source, reasons)
    assert [(m, r.reason) for m, r in explained] == [
        (gate, "the gate"),
        (counter, "extra API"),
        (constant, "a constant"),
    ]
    assert unexplained == [stray]  # the killed mutant needs no reason


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ('path = "a.py"\nkind = "equivalent"\nreason = "r"\nlines = "x"', "'lines' must be a list"),
        ('path = "a.py"\nkind = "harmless"\nreason = "r"', "kind must be one of"),
        ('path = "a.py"\nkind = "outside"\nreason = ""', "'reason' must be a non-empty"),
        ('path = "a.py"\nkind = "outside"\nreason = "r"\nwhy = "?"', "unknown field(s) why"),
    ],
)
def test_a_bad_entry_is_refused_naming_it(tmp_path: Path, entry: str, complaint: str) -> None:
    path = tmp_path / "reasons.toml"
    path.write_text(f"[[survivor]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(tool.RunError, match="survivor 1") as raised:
        tool.load_reasons(path)
    assert complaint in str(raised.value)
