"""The reusable CI step: ``action.yml`` (a composite GitHub Action) and its script, run here as
the runner would run them, minus the network: the inputs as ``MEMSPEC_*`` variables, the
outputs and the job summary as files. The workflow the guide documents uses only inputs and
outputs the action declares."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
import yaml
from memspec.schemas import load_schema

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "certify_action.py"
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def run_action(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run the action's script in ``examples/`` with these inputs; return the run and the
    outputs it wrote to ``$GITHUB_OUTPUT``."""
    outputs, summary = tmp_path / "outputs.txt", tmp_path / "summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMSPEC_", "GITHUB_"))}
    env.update(
        {
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ACTION_PATH": str(ROOT),
            "MEMSPEC_INSTALL": "",  # memspec is installed in this environment already
            "MEMSPEC_OUTPUT_DIR": str(tmp_path / "reports"),
            "COLUMNS": "100",
        }
    )
    env.update({f"MEMSPEC_{name.upper()}": value for name, value in inputs.items()})
    run = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=ROOT / "examples",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    written = dict(
        line.split("=", 1) for line in outputs.read_text("utf-8").splitlines() if "=" in line
    )
    return run, written


def test_the_step_passes_every_input_to_the_script_and_every_output_back(
    action: dict[str, Any],
) -> None:
    assert action["runs"]["using"] == "composite"
    (step,) = action["runs"]["steps"]
    assert step["id"] == "certify" and step["shell"] == "bash"
    assert step["run"] == 'python "$GITHUB_ACTION_PATH/tools/certify_action.py"'
    script = SCRIPT.read_text("utf-8")
    declared = set(action["inputs"])
    assert {"target", "profiles", "depth", "requirements"} <= declared
    assert action["inputs"]["target"]["required"] is True
    used = set()
    for name, value in step["env"].items():
        (expression,) = EXPRESSION.findall(value)
        assert expression.startswith("inputs."), value
        used.add(expression.removeprefix("inputs."))
        assert f'"{name}"' in script, f"the script never reads {name}"
    used |= {e.removeprefix("inputs.") for e in EXPRESSION.findall(step["working-directory"])}
    assert used == declared, "every input reaches the step, and nothing undeclared is read"
    outputs = action["outputs"]
    assert {"conformant", "report", "markdown", "junit-xml", "badge"} <= set(outputs)
    for name, output in outputs.items():
        assert EXPRESSION.findall(output["value"]) == [f"steps.certify.outputs.{name}"]


def test_a_conformant_manager_passes_with_every_report(
    tmp_path: Path, action: dict[str, Any]
) -> None:
    run, outputs = run_action(
        tmp_path, target="minimal_manager:MinimalManager", profiles="core, ttl", depth="quick"
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert outputs["conformant"] == "true" and outputs["exit-status"] == "0"
    assert set(action["outputs"]) == set(outputs)
    report = json.loads(Path(outputs["report"]).read_text("utf-8"))
    jsonschema.validate(report, load_schema("report"))
    assert report["conformant"] is True and report["profiles"] == ["core", "ttl"]
    assert report["depth"] == "quick"
    xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / "junit-10.xsd")).validate(
        outputs["junit-xml"]
    )
    assert Path(outputs["badge"]).read_text("utf-8").startswith("<svg")
    summary = (tmp_path / "summary.md").read_text("utf-8")
    assert summary == Path(outputs["markdown"]).read_text("utf-8")
    assert summary.startswith("# memspec certification: `minimal_manager:MinimalManager`")


def test_a_nonconformant_manager_is_reported_and_fails_the_step_unless_told_not_to(
    tmp_path: Path,
) -> None:
    # A run stopped at once by --max-time judges no MUST: not conformant, in no time.
    inputs = {
        "target": "minimal_manager:MinimalManager",
        "profiles": "core",
        "depth": "quick",
        "seed": "1",
        "args": "--max-time 0.001 --no-shrink",
    }
    run, outputs = run_action(tmp_path, **inputs)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert outputs["conformant"] == "false" and outputs["exit-status"] == "1"
    assert "--max-time 0.001 --no-shrink" in run.stdout and "--seed 1" in run.stdout
    report = json.loads(Path(outputs["report"]).read_text("utf-8"))
    assert report["seed"] == 1 and report["conformant"] is False
    assert any("--max-time" in note for note in report["notes"])

    run, outputs = run_action(tmp_path, **inputs, fail_on_nonconformant="false")
    assert run.returncode == 0 and outputs["conformant"] == "false"


def test_a_target_that_cannot_be_certified_fails_the_step(tmp_path: Path) -> None:
    run, outputs = run_action(
        tmp_path, target="no_such_module:Manager", fail_on_nonconformant="false"
    )
    assert run.returncode == 2
    assert outputs == {"conformant": "false", "exit-status": "2"}
    assert "cannot import module" in run.stderr


def test_the_install_step_installs_memspec_and_the_extra_requirements() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import certify_action
    finally:
        sys.path.remove(str(SCRIPT.parent))
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    assert certify_action.pip_command("action", "", "/a/memspec") == [*pip, "/a/memspec"]
    assert certify_action.pip_command("", ".\n-e '.[redis]'  # mine\n\n", None) == [
        *pip,
        ".",
        "-e",
        ".[redis]",
    ]
    assert certify_action.pip_command("", "", None) is None
    with pytest.raises(ValueError, match="GITHUB_ACTION_PATH"):
        certify_action.pip_command("action", "", None)
    assert certify_action.profiles("core, ttl\nasync") == ["core", "ttl", "async"]


def test_the_guide_documents_a_workflow_that_uses_the_action_as_declared(
    action: dict[str, Any],
) -> None:
    guide = (ROOT / "docs" / "certify.md").read_text("utf-8")
    workflows = re.findall(r"```yaml\n(.*?)```", guide, re.S)
    uses = [
        step
        for text in workflows
        for job in yaml.safe_load(text)["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("memspec/memspec@")
    ]
    assert uses, "the guide shows a workflow that uses the action"
    for step in uses:
        assert "target" in step["with"]
        assert set(step["with"]) <= set(action["inputs"])
        assert step["id"]
    text = "\n".join(workflows)
    for output in re.findall(r"steps\.\w+\.outputs\.([\w-]+)", text):
        assert output in action["outputs"]
