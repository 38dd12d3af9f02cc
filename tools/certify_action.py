"""The script of the ``memspec certify`` GitHub Action (``action.yml`` at the repository root).

It reads the action's inputs from ``MEMSPEC_*`` environment variables (the step's ``env``, so
no input is ever pasted into a shell line), installs memspec and the job's extra requirements,
certifies the target with every report written into one folder, and hands the verdict and the
report paths to the workflow through ``$GITHUB_OUTPUT``; the Markdown report goes to the job
summary (``$GITHUB_STEP_SUMMARY``). It needs only the standard library until memspec is
installed, and runs the same way outside GitHub (the tests run it locally):

    MEMSPEC_TARGET=minimal_manager:MinimalManager MEMSPEC_DEPTH=quick MEMSPEC_INSTALL= \\
        python tools/certify_action.py

Exit status: certify's (0 conformant, 1 not, 2 a target that cannot be certified), except
that with ``MEMSPEC_FAIL_ON_NONCONFORMANT=false`` a non-conformant verdict exits 0.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["certify_command", "main", "pip_command", "profiles"]

#: ``MEMSPEC_INSTALL`` value meaning "memspec from the action's own checkout".
FROM_ACTION = "action"

#: The reports written, by output name: (certify option, file name).
REPORTS = {
    "report": ("--report", "memspec-report.json"),
    "markdown": ("--markdown", "memspec-report.md"),
    "junit-xml": ("--junit-xml", "memspec-junit.xml"),
    "badge": ("--badge", "memspec-badge.svg"),
}


def profiles(text: str) -> list[str]:
    """The profiles input (separated by spaces, commas or new lines) as a list."""
    return [p for p in re.split(r"[\s,]+", text) if p]


def pip_command(install: str, requirements: str, action_path: str | None) -> list[str] | None:
    """The ``pip install`` that prepares the job, or ``None`` when there is nothing to install.

    ``install`` is the requirement for memspec itself (``action``: the action's checkout at
    ``action_path``; empty: the job installed it already). ``requirements`` has one pip
    argument line per line, such as ``.`` or ``-e .[redis]`` or ``mypkg==1.2``.
    """
    arguments: list[str] = []
    if install == FROM_ACTION:
        if not action_path:
            raise ValueError("install=action needs GITHUB_ACTION_PATH (the action's checkout)")
        arguments.append(action_path)
    elif install:
        arguments.append(install)
    for line in requirements.splitlines():
        arguments += shlex.split(line, comments=True)
    if not arguments:
        return None
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *arguments]


def certify_command(env: Mapping[str, str], out: Path) -> list[str]:
    """The ``memspec certify`` command line for the inputs in ``env``, reports into ``out``."""
    target = env.get("MEMSPEC_TARGET", "").strip()
    if not target:
        raise ValueError("the target input is required (module:attr of a manager or factory)")
    command = [sys.executable, "-m", "memspec.conformance.cli", "certify", target]
    for profile in profiles(env.get("MEMSPEC_PROFILES", "")):
        command += ["--profile", profile]
    command += ["--depth", env.get("MEMSPEC_DEPTH", "").strip() or "default"]
    if env.get("MEMSPEC_SEED", "").strip():
        command += ["--seed", env["MEMSPEC_SEED"].strip()]
    for option, name in REPORTS.values():
        command += [option, str(out / name)]
    return command + shlex.split(env.get("MEMSPEC_ARGS", ""))


def _write_outputs(path: str | None, values: Mapping[str, str]) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as outputs:
            outputs.writelines(f"{name}={value}\n" for name, value in values.items())


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the action's step with ``env`` (default: this process's); return the exit status."""
    env = os.environ if env is None else env
    pip = pip_command(
        env.get("MEMSPEC_INSTALL", FROM_ACTION).strip(),
        env.get("MEMSPEC_REQUIREMENTS", ""),
        env.get("GITHUB_ACTION_PATH"),
    )
    if pip is not None:
        print("+", shlex.join(pip), flush=True)
        subprocess.run(pip, check=True)
    out = Path(env.get("MEMSPEC_OUTPUT_DIR", "").strip() or "memspec-report").resolve()
    out.mkdir(parents=True, exist_ok=True)
    command = certify_command(env, out)
    print("+", shlex.join(command), flush=True)
    status = subprocess.run(command, check=False).returncode
    written = {name: out / file for name, (_, file) in REPORTS.items()}
    report = written["report"]
    conformant = report.exists() and json.loads(report.read_text("utf-8"))["conformant"] is True
    outputs = {"conformant": str(conformant).lower(), "exit-status": str(status)}
    outputs.update({name: str(path) for name, path in written.items() if path.exists()})
    _write_outputs(env.get("GITHUB_OUTPUT"), outputs)
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary and written["markdown"].exists():
        with open(summary, "a", encoding="utf-8") as page:
            page.write(written["markdown"].read_text("utf-8"))
    fail = env.get("MEMSPEC_FAIL_ON_NONCONFORMANT", "true").strip().lower() != "false"
    return status if fail or status != 1 else 0


if __name__ == "__main__":
    sys.exit(main())
