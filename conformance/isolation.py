"""Running the target where it cannot break the harness: one forked worker per check.

Every check runs in a child process forked for it. Whatever the target does there, whether it
calls ``os._exit``, crashes, hangs while holding the GIL, raises ``SystemExit``, eats memory,
leaks threads or floods the logs, the parent sees a result or a dead or overdue child, and
turns either into a :class:`~memspec.conformance.results.CheckOutcome`. The child's standard
output, standard error and log records go to a file; they are attached to the check's
failures and never reach the progress stream.
"""

from __future__ import annotations

import contextlib

# A worker is forked while the target's threads run. ``socket.getaddrinfo`` imports the idna
# codec on its first use; a fork while one of those threads holds that import's lock leaves
# it held forever in the worker, where the next lookup hangs. Imported here, before any fork.
import encodings.idna  # noqa: F401
import faulthandler
import gc
import logging
import os
import pickle
import resource
import select
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from memspec.conformance.checks import Check, Context, run_check
from memspec.conformance.results import CheckOutcome, Failure

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "WorkerFailed",
    "call_isolated",
    "leaked_threads",
    "run_isolated",
]

T = TypeVar("T")

#: Address space (bytes) a worker may add to what it inherited: threads reserve a lot of it.
DEFAULT_MAX_MEMORY = 4 << 30

#: Seconds a worker gets past its check's own time limit before it is killed.
_GRACE = 5.0

#: How much of a worker's captured output a failure carries, from its end.
_OUTPUT_LIMIT = 4000


class WorkerFailed(Exception):
    """A worker process died or overran its time before it returned a result."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _in_child(function: Callable[[], Any], write_fd: int, capture_fd: int, memory: int) -> None:
    """The child's side: run ``function`` with output captured, send the result, exit."""
    try:
        os.dup2(capture_fd, 1)
        os.dup2(capture_fd, 2)
        # Whatever the parent had bound (pytest's capture, redirect_stdout), the target's
        # prints go to the capture file.
        sys.stdout = open(1, "w", 1, "utf-8", "replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", 1, "utf-8", "replace", closefd=False)  # noqa: SIM115
        if faulthandler.is_enabled():  # a crash report belongs with the target's output
            faulthandler.enable(file=sys.stderr)
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        if memory > 0:
            limit = _address_space() + memory
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            result: tuple[str, Any] = ("ok", function())
        except BaseException as exc:  # the target may raise anything, SystemExit included
            result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        try:
            data = pickle.dumps(result)
        except Exception as exc:
            data = pickle.dumps(("error", f"the result could not be sent back: {exc!r}"))
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
    finally:
        os._exit(0)


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"was killed by {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _fork() -> int:
    """``os.fork()``, with the parent's objects kept out of the child's garbage collections.

    A collection in the child that walked the parent's objects would write to every page
    holding one, copying them all: frozen, they cost the child nothing. The young
    generations are collected first, so that garbage made before the fork is not promoted
    to the oldest generation when the parent unfreezes, where it would linger.
    """
    gc.collect(1)
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        gc.unfreeze()
        raise
    if pid != 0:
        gc.unfreeze()
    return pid


def call_isolated(
    function: Callable[[], T], *, timeout: float, memory: int = DEFAULT_MAX_MEMORY
) -> tuple[T, str]:
    """Call ``function`` in a forked child and return its result and captured output.

    Raises :class:`WorkerFailed` when the child dies, or runs past ``timeout`` seconds (it is
    killed then), and re-raises an exception the function raised as ``WorkerFailed`` too.
    """
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as capture:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = _fork()
        if pid == 0:  # pragma: no cover - the child never returns
            os.close(read_fd)
            _in_child(function, write_fd, capture.fileno(), memory)
        os.close(write_fd)
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        overdue, status = False, 0
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    overdue = True
                    break
                ready, _, _ = select.select([read_fd], [], [], left)
                if not ready:
                    continue
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(read_fd)
        if overdue:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        else:
            status = _reap(pid)
        capture.seek(0)
        output = capture.read()[-_OUTPUT_LIMIT * 4 :].decode("utf-8", "replace")
    output = output[-_OUTPUT_LIMIT:]
    if overdue:
        raise WorkerFailed(f"did not finish within {timeout:g} s and was killed", output)
    if not chunks:
        raise WorkerFailed(
            f"the worker process {_describe_exit(status)} before it finished", output
        )
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise WorkerFailed(str(value), output)
    return value, output


def _reap(pid: int) -> int:
    """Wait for a child that closed its pipe; kill it if it does not exit promptly."""
    for _ in range(200):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def leaked_threads(before: set[int], wait: float = 1.0) -> list[threading.Thread]:
    """Threads the target started since ``before`` (idents) still alive after ``wait`` s.

    The suite's own threads are named ``memspec-*`` and left out. The target's threads are
    counted whether or not they are daemons: started from the suite's (daemon) driver
    thread they inherit its daemon flag, where in a program they would keep it alive."""
    deadline = time.monotonic() + wait
    while True:
        alive = [
            t
            for t in threading.enumerate()
            if t.ident not in before and not t.name.startswith("memspec-") and t.is_alive()
        ]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def _check_in_child(check: Check, context: Context) -> CheckOutcome:
    before = {t.ident for t in threading.enumerate() if t.ident is not None}
    outcome = run_check(check, context)
    leaked = leaked_threads(before)
    if leaked:
        names = ", ".join(sorted(repr(t.name) for t in leaked))
        outcome.fail(
            Failure(
                ("MM-RES-001",),
                f"threads the manager started were still running after {check.name} closed its "
                f"managers: {names}",
            )
        )
    return outcome


def run_isolated(
    check: Check,
    context: Context,
    *,
    memory: int = DEFAULT_MAX_MEMORY,
    deadline: float | None = None,
) -> CheckOutcome:
    """Run one check in a forked worker and return its outcome, whatever the target does.

    The worker is killed ``_GRACE`` seconds after the check's own time limit, or at
    ``deadline`` (a ``time.monotonic()`` reading: the end of the whole run), if earlier.
    A worker that dies or is killed fails every requirement the check covers, with the
    reason and the target's last output.
    """
    limit = context.check_timeout + _GRACE
    if deadline is not None:
        limit = max(0.0, min(limit, deadline - time.monotonic()))
    try:
        outcome, output = call_isolated(
            lambda: _check_in_child(check, context), timeout=limit, memory=memory
        )
    except WorkerFailed as exc:
        outcome = CheckOutcome(check=check.name)
        outcome.fail(
            Failure(check.requirements, f"{check.name}: the check {exc}").with_output(
                exc.output.strip() or None
            )
        )
        return outcome
    if outcome.failures and output.strip():
        outcome.failures = [f.with_output(output.strip()) for f in outcome.failures]
    return outcome
