"""The built wheel carries the packages and their data, not only the source tree."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, memspec, memspec.conformance, memspec.reference
from memspec.schemas import SCHEMA_NAMES, load_schema
print(json.dumps({
    "file": memspec.__file__,
    "requirements": len(memspec.catalogue()),
    "vectors": len(memspec.load_vectors()),
    "schemas": sorted(n for n in SCHEMA_NAMES if load_schema(n)),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
    )
    (built,) = out.glob("memspec-*.whl")
    return built


def test_wheel_lists_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in [
        "memspec/py.typed",
        "memspec/requirements.toml",
        "memspec/schemas/report.schema.json",
        "memspec/vectors/store-retrieve.json",
        "memspec/reference/__init__.py",
        "memspec/conformance/__init__.py",
    ]:
        assert expected in names
    assert not any(name.startswith(("spec/", "tests/")) for name in names)


def test_installed_wheel_imports_and_loads_its_data(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    # -S keeps the editable install's import hook out; dependencies come from this venv.
    path = f"{target}:{sysconfig.get_paths()['purelib']}:{sysconfig.get_paths()['platlib']}"
    run = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        env={"PYTHONPATH": path},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    facts = json.loads(run.stdout)
    assert facts["file"].startswith(str(target))
    assert facts["requirements"] > 40
    assert facts["vectors"] >= 10
    assert facts["schemas"] == sorted(
        ["working-memory", "memory-input", "stored-record", "vector", "report", "catalogue"]
    )
