"""The documentation: every Python block runs and prints what the page shows, and the built
site works from a static file server in a real browser."""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RedisServer
from openai_server import base_url, serving

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PAGES = sorted(p for p in DOCS.rglob("*.md"))


def blocks(page: Path) -> list[tuple[str, str | None]]:
    """The page's Python blocks, each with the Output block that follows it, if any."""
    found: list[tuple[str, str | None]] = []
    for match in FENCE.finditer(page.read_text("utf-8")):
        language, info, body = match.groups()
        if language == "python":
            found.append((body, None))
        elif language == "text" and 'title="Output"' in info:
            assert found and found[-1][1] is None, f"{page}: an Output block needs a Python block"
            found[-1] = (found[-1][0], body)
    return found


def test_the_docs_have_runnable_examples() -> None:
    counted = {page.relative_to(DOCS).as_posix(): len(blocks(page)) for page in PAGES}
    assert sum(counted.values()) >= 15
    assert counted["reference/in-memory.md"] >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_python_block_runs_and_prints_what_is_shown(
    page: Path,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    if "DATABASE_URL" in page.read_text("utf-8"):  # only these pages start a PostgreSQL
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_server").url)
    monkeypatch.setenv("ENVIRONMENT", "development")
    with serving() as llm:
        monkeypatch.setenv("OPENAI_API_KEY", "docs-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", base_url(llm))
        namespace: dict[str, object] = {"__name__": "docs_example"}
        for number, (code, shown) in enumerate(blocks(page), start=1):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(
                    compile(code, f"{page.name} block {number}", "exec", dont_inherit=True),
                    namespace,
                )
            if shown is not None:
                assert printed.getvalue() == shown, f"{page.name} block {number} prints otherwise"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    tree = ROOT / "build" / "memspec-tree" / "memspec"
    if not tree.exists():
        subprocess.run(["make", "-s", "tree"], cwd=ROOT, check=True)
    subprocess.run(
        [
            str(Path(os.sys.executable).parent / "mkdocs"),
            "build",
            "--strict",
            "--quiet",
            "--site-dir",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return out


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no chromium: .ci/run installs it; CI must run the browser test")
        pytest.skip("no chromium on this machine (Debian package 'chromium')")
    return found


def _dom(browser: str, url: str, profile: Path) -> str:
    run = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return run.stdout


def test_the_site_renders_in_a_browser(served: str, site: Path, tmp_path: Path) -> None:
    browser = _browser()
    home = _dom(browser, f"{served}/index.html", tmp_path / "profile-home")
    assert "<title>memspec</title>" in home and "Certify your manager" in home
    spec = _dom(browser, f"{served}/spec/index.html#MM-TTL-002", tmp_path / "profile-spec")
    assert 'id="MM-TTL-002"' in spec and "is never returned at any time at or after" in spec
    assert 'data-md-component="search-query"' in home
    assert (site / "search" / "search_index.json").exists()


def _normalised(text: str) -> str:
    """Output with timings, which change from run to run, blanked."""
    text = re.sub(r"\(\d+\.\d+ s\)", "(… s)", text)
    return re.sub(r"in \d+\.\d+ s", "in … s", text).strip()


def test_the_failing_run_in_the_guide_is_a_real_one() -> None:
    page = (ROOT / "docs" / "certify.md").read_text("utf-8")
    shown = re.search(r"```console\n\$ (memspec certify [^\n]+)\n(.*?)\n```", page, re.S)
    assert shown is not None, "the guide shows a failing run"
    command, output = shown.groups()
    env = {**os.environ, "COLUMNS": "100"}
    run = subprocess.run(
        [str(Path(sys.executable).parent / "memspec"), *command.split()[1:]],
        cwd=ROOT / "examples",
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert run.returncode == 1
    assert _normalised(run.stderr + run.stdout) == _normalised(output)
