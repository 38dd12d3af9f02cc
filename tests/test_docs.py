"""The documentation: every Python block runs and prints what the page shows, and the built
site works from a static file server in a real browser."""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import http.server
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RedisServer, fresh_copy
from memspec.reference.stub_llm import base_url, serving
from memspec.report import DEFAULT_DOCS_URL

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"\n', re.MULTILINE)
PAGES = sorted(p for p in DOCS.rglob("*.md"))


def included(body: str) -> str:
    """A block's text with its ``--8<-- "file"`` lines replaced by the files, as the docs
    build (pymdownx.snippets) does."""
    return SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text("utf-8"), body)


def blocks(page: Path) -> list[tuple[str, str | None]]:
    """The page's Python blocks, each with the Output block that follows it, if any."""
    found: list[tuple[str, str | None]] = []
    for match in FENCE.finditer(page.read_text("utf-8")):
        language, info, body = match.groups()
        if language == "python":
            found.append((included(body), None))
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
    monkeypatch.syspath_prepend(str(ROOT / "examples"))  # the guide's minimal_manager
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


MKDOCS = str(Path(sys.executable).parent / "mkdocs")


#: The tests that read the built site run on one worker, so that it is built once.
SITE_GROUP = pytest.mark.xdist_group("docs-site")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with ``mkdocs build --strict`` in a fresh copy, with no other step."""
    source = fresh_copy(tmp_path_factory.mktemp("clone"))
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [MKDOCS, "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=source,
        check=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return out


def test_mkdocs_serve_works_in_a_fresh_clone(tmp_path: Path) -> None:
    source = fresh_copy(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "serve.log"
    with log.open("w") as written:
        server = subprocess.Popen(
            [MKDOCS, "serve", "--strict", "--dev-addr", f"127.0.0.1:{port}"],
            cwd=source,
            stdout=subprocess.DEVNULL,
            stderr=written,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
    try:
        page = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                # mkdocs serve puts the site under site_url's path, as it will be hosted.
                url = f"http://127.0.0.1:{port}{urllib.parse.urlsplit(DEFAULT_DOCS_URL).path}"
                with urllib.request.urlopen(f"{url}api.html", timeout=2) as r:
                    page = r.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, log.read_text("utf-8")
        assert "as_memory_input" in page, log.read_text("utf-8")
    finally:
        server.terminate()
        server.wait(10)


@SITE_GROUP
def test_the_guide_lists_every_option_of_the_command(site: Path) -> None:
    from memspec.conformance.cli import build_parser

    guide = (site / "certify.html").read_text("utf-8")
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    certify = commands.choices["certify"]
    flags = [f for a in certify._actions for f in a.option_strings if f not in ("-h", "--help")]
    assert len(flags) > 15
    for flag in flags:
        assert f"<code>{flag}" in guide, f"the guide's options table lacks {flag}"


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


@SITE_GROUP
def test_the_site_renders_in_a_browser(served: str, site: Path, tmp_path: Path) -> None:
    browser = _browser()
    home = _dom(browser, f"{served}/index.html", tmp_path / "profile-home")
    assert "<title>memspec</title>" in home and "Certify your manager" in home
    spec = _dom(browser, f"{served}/spec/index.html#MM-TTL-002", tmp_path / "profile-spec")
    assert 'id="MM-TTL-002"' in spec and "is never returned at any time at or after" in spec
    assert 'data-md-component="search-query"' in home
    assert (site / "search" / "search_index.json").exists()


#: Opens pages in 1280 px wide frames and lists their code blocks whose lines run off the side
#: (a horizontal scroll bar: the reader sees them cut).
OVERFLOW_PROBE = """<!doctype html>
<html><body style="margin:0">
<iframe id="home" src="index.html" style="width:1280px;height:900px;border:0"></iframe>
<iframe id="guide" src="certify.html" style="width:1280px;height:900px;border:0"></iframe>
<pre id="result">pending</pre>
<script>
window.addEventListener("load", () => {
  const result = {};
  for (const id of ["home", "guide"]) {
    const frame = document.getElementById(id);
    const doc = frame.contentDocument;
    const blocks = Array.from(doc.querySelectorAll(".md-content pre > code"));
    result[id] = {
      blocks: blocks.length,
      width: frame.contentWindow.innerWidth,
      overflowing: blocks
        .filter((code) => code.scrollWidth > code.clientWidth + 1)
        .map((code) => code.textContent.split("\\n").sort((a, b) => b.length - a.length)[0]),
    };
  }
  document.getElementById("result").textContent = JSON.stringify(result);
});
</script>
</body></html>
"""


@SITE_GROUP
def test_no_code_block_overflows_at_1280_px(served: str, site: Path, tmp_path: Path) -> None:
    browser = _browser()
    (site / "overflow-probe.html").write_text(OVERFLOW_PROBE, "utf-8")
    dom = _dom(browser, f"{served}/overflow-probe.html", tmp_path / "profile")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found is not None and found.group(1) != "pending", dom[-2000:]
    measured = json.loads(html.unescape(found.group(1)))
    for page in ("home", "guide"):
        assert measured[page]["width"] == 1280
        assert measured[page]["blocks"] >= 3, f"{page}: no code blocks measured"
        assert measured[page]["overflowing"] == [], f"{page}: lines cut at 1280 px"


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
