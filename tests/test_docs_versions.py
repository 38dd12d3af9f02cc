"""The hosted specification, one folder per spec version: ``make docs-deploy``
(``tools/deploy_docs.py``, mike) run in a fresh copy of the repository, committing to its own
``gh-pages`` branch; an older release deployed beside the current one stays, ``latest`` moves
to the newest, and every link a report makes resolves to an anchor of its version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import memspec
from conftest import fresh_copy
from memspec.report import requirement_url

GIT_ENV = {
    "GIT_AUTHOR_NAME": "memspec tests",
    "GIT_AUTHOR_EMAIL": "tests@memspec.invalid",
    "GIT_COMMITTER_NAME": "memspec tests",
    "GIT_COMMITTER_EMAIL": "tests@memspec.invalid",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_spec_versions_are_deployed_side_by_side_and_reports_link_into_them(
    tmp_path: Path,
) -> None:
    repo = fresh_copy(tmp_path / "repo")
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "docs sources")
    # An earlier release already published, as mike left it (laid by hand: a build is slow).
    git(repo, "checkout", "--quiet", "--orphan", "gh-pages")
    git(repo, "rm", "-r", "--quiet", "--cached", ".")
    published = tmp_path / "published"
    (published / "1.1.0" / "spec").mkdir(parents=True)
    (published / "1.1.0" / "spec" / "index.html").write_text("<h3 id=MM-TTL-002></h3>")
    older = [{"version": "1.1.0", "title": "spec 1.1.0", "aliases": ["latest"]}]
    (published / "versions.json").write_text(json.dumps(older))
    git(repo, "--work-tree", str(published), "add", "--all")
    git(repo, "commit", "--quiet", "--message", "Deployed 1.1.0")
    git(repo, "checkout", "--quiet", "--force", "main")

    current = memspec.catalogue().spec_version
    run = subprocess.run(
        [sys.executable, "tools/deploy_docs.py"],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Material for MkDocs reaches end of life" not in run.stdout + run.stderr

    versions = json.loads(git(repo, "show", "gh-pages:versions.json"))
    assert [(v["version"], v["aliases"]) for v in versions] == [
        (current, ["latest"]),
        ("1.1.0", []),
    ]
    files = set(git(repo, "ls-tree", "-r", "--name-only", "gh-pages").splitlines())
    assert {f"{current}/spec/index.html", "1.1.0/spec/index.html", "index.html"} <= files
    assert f"{current}/certify.html" in files and f"{current}/api.html" in files
    assert "latest" in git(repo, "ls-tree", "--name-only", "gh-pages").split()
    assert "latest" in git(repo, "show", "gh-pages:index.html")

    page = git(repo, "show", f"gh-pages:{current}/spec/index.html")
    base = "https://docs.example.test/memspec/"
    for requirement in memspec.catalogue():
        link = requirement_url(requirement.id, current, base)
        path, anchor = link.removeprefix(base).split("#")
        assert path == f"{current}/spec/index.html"
        assert f'id="{anchor}"' in page, f"{link} points at no anchor"
