"""The checked-in JSON Schemas: fresh, valid, and in agreement with the data they describe."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from memspec.schemas import SCHEMA_NAMES, generate_schemas, load_schema, main, render_schema

SCHEMAS = Path(__file__).resolve().parents[1] / "spec" / "schemas"


def test_checked_in_schemas_match_the_models() -> None:
    for name, schema in generate_schemas().items():
        path = SCHEMAS / f"{name}.schema.json"
        assert path.read_text("utf-8") == render_schema(schema), f"{path} is stale"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_each_schema_is_a_valid_2020_12_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


def test_check_command_reports_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--write", "--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    stale = tmp_path / "report.schema.json"
    stale.write_text(json.dumps({"type": "object"}), "utf-8")
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert "stale: " in capsys.readouterr().out


def test_memory_input_schema_agrees_with_the_model() -> None:
    validator = jsonschema.Draft202012Validator(load_schema("memory-input"))
    assert validator.is_valid({"conversation_id": "c", "data": [{"working_memory": "x"}]})
    assert not validator.is_valid({"conversation_id": ""})
    assert not validator.is_valid({"conversation_id": "c", "memory_type": "OTHER"})
    assert not validator.is_valid({"conversation_id": "c", "data": [{"working_memory": 1}]})


def test_stored_record_schema_requires_items() -> None:
    validator = jsonschema.Draft202012Validator(load_schema("stored-record"))
    record = {
        "format": 1,
        "conversation_id": "c",
        "memory_type": "WORKING_MEMORY",
        "data": [{"working_memory": "x"}],
        "metadata": {},
    }
    assert validator.is_valid(record)
    assert not validator.is_valid({**record, "data": []})
    assert not validator.is_valid({**record, "format": 2})


def test_unknown_schema_names_are_refused() -> None:
    with pytest.raises(KeyError, match="no schema 'nope'"):
        load_schema("nope")
