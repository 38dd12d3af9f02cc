"""Shared fixtures: a private redis-server and a private PostgreSQL on free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from postgres_server import PostgresServer, find_bindir, start_postgres

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

#: What a fresh clone holds that the documentation build reads (no ``build/``, no ``site/``).
DOCS_SOURCES = ("mkdocs.yml", "docs", "spec", "reference", "conformance", "examples", "tools")


def fresh_copy(into: Path) -> Path:
    """The documentation's sources as a fresh clone has them: no link tree laid, no site."""
    into.mkdir(parents=True, exist_ok=True)
    for name in DOCS_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, into / name)
    return into


@dataclass
class RedisServer:
    """A redis-server this test session started (or the one $REDIS_URL names)."""

    url: str
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    directory: Path | None = None

    def stop(self) -> None:
        """Stop the server (only one the fixture started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def start(self) -> None:
        """Start (again) the server the fixture started, on the same port."""
        assert self.port is not None and self.directory is not None, "not started here"
        self.process = _launch(self.port, self.directory)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(port: int, directory: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
        *extra,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64):
                    return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not start on port {port}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server on a free loopback port, or the server $REDIS_URL names."""
    if os.environ.get("REDIS_URL"):
        yield RedisServer(os.environ["REDIS_URL"])
        return
    if shutil.which("redis-server") is None:
        reason = "no redis-server on PATH and no REDIS_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the Redis tests", pytrace=False)
        pytest.skip(reason)
    port = _free_port()
    directory = tmp_path_factory.mktemp("redis")
    server = RedisServer(f"redis://127.0.0.1:{port}/0", port, _launch(port, directory), directory)
    yield server
    server.stop()


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A second private server that requires a password: (password, port)."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH")
    port, password = _free_port(), "s3cret-Pa55word"
    process = _launch(port, tmp_path, "--requirepass", password)
    yield password, port
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL (initdb in a temporary directory, a free loopback port), stopped
    at the end of the session; never a server that was already running."""
    if find_bindir() is None:
        reason = "no PostgreSQL server binaries (Debian package 'postgresql')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs them and CI must run these tests")
        pytest.skip(reason)
    server = start_postgres()
    yield server
    server.stop()
