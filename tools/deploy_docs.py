"""Deploy the documentation site for one spec version with mike (``make docs-deploy``).

The hosted site keeps one folder per spec version (``1.2.0/``) side by side on the
``gh-pages`` branch, with the alias ``latest`` on the newest and the site's root redirecting
to it; the version menu lists them all. Every certification report links its requirements to
``<site>/<spec version>/spec/index.html#<ID>``, so the text a manager was judged against stays
online after the specification moves on.

    python tools/deploy_docs.py                 # this checkout's spec version, as latest
    python tools/deploy_docs.py --push          # and push gh-pages
    python tools/deploy_docs.py --version 1.1.0 --no-latest   # an older release, from its tag

Run it from the repository root; it only commits to the local ``gh-pages`` branch unless
``--push`` is given. Deploying a released version again replaces that version's folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import memspec

__all__ = ["deploy_commands", "main"]

LATEST = "latest"


def deploy_commands(
    version: str, *, latest: bool, push: bool, branch: str, mike: str
) -> list[list[str]]:
    """The mike commands that deploy ``version`` (and, with ``latest``, move the alias)."""
    common = ["--branch", branch, *(["--push"] if push else [])]
    deploy = [mike, "deploy", *common, "--title", f"spec {version}"]
    if latest:
        deploy += ["--update-aliases", version, LATEST]
        return [deploy, [mike, "set-default", *common, LATEST]]
    return [[*deploy, version]]


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy; return mike's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--version",
        default=memspec.catalogue().spec_version,
        help="the spec version to deploy as (default: this checkout's catalogue)",
    )
    parser.add_argument(
        "--no-latest",
        dest="latest",
        action="store_false",
        help="do not move the 'latest' alias (deploying an older release)",
    )
    parser.add_argument("--push", action="store_true", help="push the gh-pages branch")
    parser.add_argument("--branch", default="gh-pages", help="the branch to commit to")
    args = parser.parse_args(argv)
    scripts = Path(sys.executable).parent  # mike runs the mkdocs found on PATH: this one
    mike = str(scripts / "mike")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(scripts), os.environ.get("PATH", "")]),
        "NO_MKDOCS_2_WARNING": "1",  # Material's end-of-life banner, on every build
    }
    for command in deploy_commands(
        args.version, latest=args.latest, push=args.push, branch=args.branch, mike=mike
    ):
        done = subprocess.run(command, env=env, check=False)
        if done.returncode:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
