"""The JSON Schemas of the contract: generated from the pydantic models, checked in, loaded.

``python -m memspec.schemas --write`` regenerates ``spec/schemas/*.schema.json``;
``--check`` fails when a checked-in file differs from what the models generate (``make test``
runs it), so the files other languages read never drift from the Python models.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["SCHEMA_NAMES", "generate_schemas", "load_schema", "main", "render_schema"]

_BASE_ID = "https://memspec.dev/schemas/"


def _models() -> dict[str, type[BaseModel]]:
    from memspec.catalogue import Catalogue
    from memspec.models import IMemoryInput, IWorkingMemory, StoredRecord
    from memspec.report import CertificationReport
    from memspec.vectors import Vector

    return {
        "working-memory": IWorkingMemory,
        "memory-input": IMemoryInput,
        "stored-record": StoredRecord,
        "vector": Vector,
        "report": CertificationReport,
        "catalogue": Catalogue,
    }


#: The names of the schema files, without ``.schema.json``.
SCHEMA_NAMES: tuple[str, ...] = (
    "working-memory",
    "memory-input",
    "stored-record",
    "vector",
    "report",
    "catalogue",
)


def generate_schemas() -> dict[str, dict[str, Any]]:
    """Return every schema as generated from the models now, by name."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, model in _models().items():
        body = model.model_json_schema()
        schemas[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{_BASE_ID}{name}.schema.json",
            **body,
        }
    return schemas


def render_schema(schema: dict[str, Any]) -> str:
    """The exact text a schema file holds."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@functools.cache
def _load(name: str) -> str:
    if name not in SCHEMA_NAMES:
        raise KeyError(f"no schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    return resources.files("memspec").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """Return a checked-in schema by name (e.g. ``"report"``), as a fresh dict."""
    loaded: dict[str, Any] = json.loads(_load(name))
    return loaded


def _folder() -> Path:
    return Path(str(resources.files("memspec").joinpath("schemas")))


def _write(folder: Path, out: Callable[[str], None]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in generate_schemas().items():
        (folder / f"{name}.schema.json").write_text(render_schema(schema), "utf-8")
        out(f"wrote {folder / f'{name}.schema.json'}")
    return 0


def _check(folder: Path, out: Callable[[str], None]) -> int:
    stale = []
    for name, schema in generate_schemas().items():
        path = folder / f"{name}.schema.json"
        if not path.exists() or path.read_text("utf-8") != render_schema(schema):
            stale.append(path)
    for path in stale:
        out(f"stale: {path} differs from what the models generate")
    if stale:
        out("run `python -m memspec.schemas --write` and commit the result")
        return 1
    out(f"{len(SCHEMA_NAMES)} schemas match the models")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--check`` (default) or ``--write`` the checked-in schema files."""
    parser = argparse.ArgumentParser(
        prog="python -m memspec.schemas", description="Check or regenerate the JSON Schemas."
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="fail if a file is stale (default)")
    action.add_argument("--write", action="store_true", help="regenerate the files")
    parser.add_argument("--dir", type=Path, default=None, help="schema folder (default: package)")
    args = parser.parse_args(argv)
    folder = args.dir or _folder()
    return _write(folder, print) if args.write else _check(folder, print)


if __name__ == "__main__":
    sys.exit(main())
