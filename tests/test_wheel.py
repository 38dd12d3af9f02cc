"""The distribution as users get it: ``python -m build`` makes an sdist and a wheel without a
setuptools warning, ``twine check`` accepts both, and the installed wheel carries the packages
and their data, not only the source tree.

``python -m build`` runs once per test session (a file lock shares it between the xdist
workers), as a user would run it, with build isolation.
"""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
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

#: A warning class named in the build's output, e.g. setuptools' ``BuildBackendWarning`` for a
#: data folder missing from the packages configuration.
WARNING_CLASS = re.compile(r"\b\w+Warning\b")


@dataclass(frozen=True)
class Distribution:
    """What one ``python -m build`` run made, and what it printed."""

    wheel: Path
    sdist: Path
    log: str


@pytest.fixture(scope="session")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Distribution:
    """Build the sdist and the wheel once for the whole session, whichever worker asks first."""
    shared = tmp_path_factory.getbasetemp().parent
    out = shared / "memspec-dist"
    with (shared / "memspec-dist.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "build.log").exists():
            run = subprocess.run(
                [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
            (out / "build.log").write_text(run.stdout + run.stderr, "utf-8")
    (wheel,) = out.glob("memspec-*.whl")
    (sdist,) = out.glob("memspec-*.tar.gz")
    return Distribution(wheel, sdist, (out / "build.log").read_text("utf-8"))


def test_the_build_prints_no_setuptools_warning(distribution: Distribution) -> None:
    assert "Successfully built" in distribution.log
    assert WARNING_CLASS.findall(distribution.log) == []


def test_the_install_instructions_name_the_wheel_the_build_makes(
    distribution: Distribution,
) -> None:
    for page in (ROOT / "README.md", ROOT / "docs" / "index.md"):
        text = page.read_text("utf-8")
        assert "python -m build" in text and f"dist/{distribution.wheel.name}[redis]" in text
        assert "pip install ./memspec " in text, f"{page.name}: install from a clone"


def test_twine_accepts_the_distribution(distribution: Distribution) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(distribution.wheel),
            str(distribution.sdist),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("PASSED") == 2


def test_wheel_lists_package_data(distribution: Distribution) -> None:
    names = set(zipfile.ZipFile(distribution.wheel).namelist())
    for expected in [
        "memspec/py.typed",
        "memspec/requirements.toml",
        "memspec/schemas/report.schema.json",
        "memspec/vectors/store-retrieve.json",
        "memspec/reference/__init__.py",
        "memspec/reference/stub_llm.py",
        "memspec/conformance/__init__.py",
    ]:
        assert expected in names
    assert not any(name.startswith(("spec/", "tests/")) for name in names)


def test_the_sdist_carries_what_the_wheel_is_built_from(distribution: Distribution) -> None:
    with tarfile.open(distribution.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for expected in [
        "pyproject.toml",
        "README.md",
        "spec/requirements.toml",
        "spec/schemas/report.schema.json",
        "spec/vectors/store-retrieve.json",
        "conformance/cli.py",
        "reference/in_memory.py",
    ]:
        assert expected in names


def test_installed_wheel_imports_and_loads_its_data(
    distribution: Distribution, tmp_path: Path
) -> None:
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
            str(distribution.wheel),
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
