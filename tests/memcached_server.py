"""A private memcached for tests: ``memcached`` on a free loopback port, stopped by ``stop()``.

It never touches a server already running on the machine: the port is its own and it listens
on ``127.0.0.1`` only (UDP off). memcached refuses to run as root without ``-u``, so when this
process is root the server is told to keep that identity. The memory limit is raised to 1 GiB
(allocated only as items arrive) so that 100,000 live slots are never evicted.

``memcached_server`` is a session-scoped pytest fixture; import it into a test module
(``from memcached_server import memcached_server``) to use it there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import pytest
from postgres_server import _free_port

__all__ = ["MemcachedServer", "memcached_server", "start_memcached"]


@dataclass
class MemcachedServer:
    """A memcached :func:`start_memcached` started; ``address`` is ``127.0.0.1:PORT``."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        """``host:port``, the form ``MEMSPEC_MEMCACHED`` takes."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL if it lingers)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_memcached(memory_mb: int = 1024) -> MemcachedServer:
    """Start memcached on a free loopback port and wait until it answers ``version``.

    Raises ``FileNotFoundError`` when no ``memcached`` is on PATH and ``RuntimeError`` when it
    does not come up.
    """
    binary = shutil.which("memcached")
    if binary is None:
        raise FileNotFoundError("no memcached on PATH (Debian package 'memcached')")
    port = _free_port()
    command = [
        binary,
        "-l",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        "0",
        "-m",
        str(memory_mb),
        "-c",
        "4096",
    ]
    if os.geteuid() == 0:
        command += ["-u", "root"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        server = MemcachedServer(port, process)
        try:
            _wait_until_ready(server, log)
        except BaseException:
            server.stop()
            raise
    return server


def _wait_until_ready(server: MemcachedServer, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5) as sock:
                sock.sendall(b"version\r\n")
                if sock.recv(64).startswith(b"VERSION"):
                    return
        except OSError:
            time.sleep(0.05)
    log.seek(0)
    output = log.read().decode(errors="replace")
    raise RuntimeError(f"memcached did not start on port {server.port}:\n{output}")


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[MemcachedServer]:
    """A private memcached on a free loopback port, stopped at the end of the session."""
    if shutil.which("memcached") is None:
        reason = "no memcached on PATH (Debian package 'memcached')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the memcached tests", pytrace=False)
        pytest.skip(reason)
    server = start_memcached()
    yield server
    server.stop()
