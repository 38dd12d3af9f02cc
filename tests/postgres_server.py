"""A private PostgreSQL server for tests and benchmarks: ``initdb`` in a temporary directory,
``postgres`` on a free loopback port, stopped (and its directory removed) by ``stop()``.

It never touches a server already running on the machine: the data directory, the port and the
Unix socket directory are its own. PostgreSQL refuses to run as root, so when this process is
root the server runs as the ``postgres`` account (which the Debian package creates).
Durability is switched off (``fsync=off``): these servers hold test data only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

__all__ = ["PASSWORD_ROLE", "PostgresServer", "find_bindir", "start_postgres"]

#: A role that must log in with a password (scram-sha-256); every other role is trusted.
PASSWORD_ROLE = "memspec_secret"

_HBA = f"""\
local all all trust
host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``: PATH, ``pg_config``, then Debian's
    ``/usr/lib/postgresql/<version>/bin`` (newest version first); ``None`` when absent."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(os.path.realpath(on_path)).parent
    if shutil.which("pg_config") is not None:
        run = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        bindir = Path(run.stdout.strip())
        if run.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A server :func:`start_postgres` started; ``url`` connects as its superuser."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    user: str = "memspec"
    password: str = field(default="s3cret-Pg-Pa55word", repr=False)

    @property
    def url(self) -> str:
        """A libpq URL for the superuser on the ``postgres`` database (no password needed)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    @property
    def password_url(self) -> str:
        """A URL for :data:`PASSWORD_ROLE` with its (correct) password."""
        return f"postgresql://{PASSWORD_ROLE}:{self.password}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the data directory."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres(bindir: Path | None = None) -> PostgresServer:
    """Initialise a cluster in a new temporary directory and start it on a free port.

    Raises ``FileNotFoundError`` when no PostgreSQL server binaries are installed and
    ``RuntimeError`` when the server does not come up (with its log).
    """
    bindir = bindir or find_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb) on this machine")
    directory = Path(tempfile.mkdtemp(prefix="memspec-pg-"))
    run_as: dict[str, int] = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")  # KeyError: no account to run the server as
        os.chown(directory, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid}
    data = directory / "data"
    server = None
    try:
        subprocess.run(
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                "memspec",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            cwd=directory,
            **run_as,  # type: ignore[arg-type]
        )
        (data / "pg_hba.conf").write_text(_HBA)
        port = _free_port()
        log = open(directory / "server.log", "wb")  # noqa: SIM115 (the server holds it)
        process = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(directory),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=32MB",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
            **run_as,  # type: ignore[arg-type]
        )
        log.close()
        server = PostgresServer(port, directory, process)
        _wait_until_ready(server)
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(
                f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{server.password}' SUPERUSER"
            )
        return server
    except BaseException:
        if server is not None:
            server.stop()
        else:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _wait_until_ready(server: PostgresServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with psycopg.connect(server.url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            time.sleep(0.05)
    log = (server.directory / "server.log").read_text(errors="replace")
    raise RuntimeError(f"PostgreSQL did not start on port {server.port}:\n{log}")
