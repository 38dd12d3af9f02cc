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


#: Modules whose tests take tens of seconds each (whole certifications against real servers,
#: repeated runs, hostile targets that are waited out): they start first, so that the
#: parallel workers finish together instead of one running them alone at the end.
SLOW_FIRST = (
    "test_postgres.py",
    "test_redis_cluster.py",
    "test_redis.py",
    "test_hostile.py",
    "test_repeatable.py",
    "test_sqlite.py",
    "test_plugin.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the :data:`SLOW_FIRST` modules' tests first (a stable sort: order within kept)."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)


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
    process = _spawn(port, directory, *extra)
    _wait_for(process, port)
    return process


def _spawn(port: int, directory: Path, *extra: str) -> subprocess.Popen[bytes]:
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
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64):
                    return
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


@dataclass
class RedisCluster:
    """A Redis Cluster of three masters and three replicas this session started."""

    ports: list[int]
    processes: dict[int, subprocess.Popen[bytes]]
    directory: Path
    bus_ports: dict[int, int]

    @property
    def url(self) -> str:
        """A URL of one node: redis-py's cluster clients discover the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def cli(self, port: int, *command: str) -> str:
        """Run one ``redis-cli`` command against a node and return its output."""
        done = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *command],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def roles(self) -> dict[int, str]:
        """Each live node's role, ``master`` or ``slave``, by port."""
        return {
            port: self.cli(port, "ROLE").split("\n", 1)[0].strip()
            for port, process in self.processes.items()
            if process.poll() is None
        }

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every live node says the cluster is ok, with three masters that each
        have a replica online."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                live = [p for p, proc in self.processes.items() if proc.poll() is None]
                states = [self.cli(p, "CLUSTER", "INFO") for p in live]
                roles = self.roles()
                masters = [p for p, r in roles.items() if r == "master"]
                synced = all(
                    "connected_slaves:1" in self.cli(p, "INFO", "replication") for p in masters
                )
                if (
                    all("cluster_state:ok" in state for state in states)
                    and len(masters) == 3
                    and synced
                ):
                    return
            except subprocess.SubprocessError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not become healthy")
            time.sleep(0.1)

    def restart(self, port: int) -> None:
        """Start a stopped node again, from its own nodes file (it rejoins as a replica)."""
        self.processes[port] = _spawn(
            port, self.directory / str(port), *_cluster_options(self.bus_ports[port])
        )
        _wait_for(self.processes[port], port)

    def stop(self) -> None:
        """Stop every node."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            process.wait(10)


def _cluster_options(bus_port: int) -> tuple[str, ...]:
    # The bus port is chosen free too: the default (port + 10000) may be taken or past 65535.
    return (
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
        "--cluster-port",
        str(bus_port),
    )


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """Three masters and three replicas on free loopback ports, shared by the session.

    The nodes start in parallel; ``redis-cli --cluster create`` assigns the slots and the
    replicas. Tests that fail a master over leave a healthy cluster of three masters behind.
    """
    missing = [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]
    if missing:
        reason = f"no {' or '.join(missing)} on PATH (Debian: redis-server, redis-tools)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the Redis Cluster tests", pytrace=False)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("redis-cluster")
    chosen: list[int] = []
    while len(chosen) < 12:
        port = _free_port()
        if port not in chosen:
            chosen.append(port)
    ports, bus_ports = chosen[:6], dict(zip(chosen[:6], chosen[6:], strict=True))
    processes: dict[int, subprocess.Popen[bytes]] = {}
    for port in ports:
        (root / str(port)).mkdir()
        processes[port] = _spawn(port, root / str(port), *_cluster_options(bus_ports[port]))
    cluster = RedisCluster(ports, processes, root, bus_ports)
    try:
        for port in ports:
            _wait_for(processes[port], port)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in ports),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
        cluster.wait_healthy()
        yield cluster
    finally:
        cluster.stop()
