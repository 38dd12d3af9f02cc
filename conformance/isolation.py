"""Running the target where it cannot break the harness: checks in forked workers.

The checks of a run go, in order, through a child process forked for them. Whatever the
target does there, whether it calls ``os._exit``, crashes, hangs while holding the GIL, raises
``SystemExit``, eats memory, leaks threads or floods the logs, the parent sees a result or a
dead or overdue child, and turns either into a
:class:`~memspec.conformance.results.CheckOutcome`. The child's standard output, standard
error and log records go to a file; they are attached to the check's failures and never
reach the progress stream.

One worker serves check after check, because a fork costs far more than most checks. A check
that kills or overruns its worker is judged again as the first check of a fresh one, so a
failure of that kind is always blamed on a worker that nothing but that check has touched.
"""

from __future__ import annotations

import contextlib
import ctypes

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
import struct
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from memspec.conformance import callboard
from memspec.conformance.checks import Check, Context, run_check
from memspec.conformance.results import CheckOutcome, Failure

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "CheckEvent",
    "WorkerFailed",
    "call_isolated",
    "leaked_threads",
    "run_checks_isolated",
]

T = TypeVar("T")

#: Address space (bytes) a worker may add to what it inherited: threads reserve a lot of it.
DEFAULT_MAX_MEMORY = 4 << 30

#: Seconds a worker gets past its check's own time limit before it is killed.
_GRACE = 5.0

#: Seconds a call marked on the call board gets past its own limit before the parent, which
#: reads the board, kills the worker: the worker's own limit should have ended it by then.
_CALL_GRACE = 2.0

#: How often the parent looks at a worker's call board while it waits for a frame, seconds.
_POLL = 0.25

#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1

#: How much of a worker's captured output a failure carries, from its end.
_OUTPUT_LIMIT = 4000


class WorkerFailed(Exception):
    """A worker process died or overran its time before it returned a result."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


#: Resident memory (bytes) a worker may keep on top of what it started with before it is
#: retired for a fresh one: memory a target holds on to does not follow later checks.
_RETIRE_RESIDENT = 512 << 20


def _memory(field: int) -> int:
    """A field of ``/proc/self/statm`` in bytes: 0 for the address space, 1 for resident."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _address_space() -> int:
    return _memory(0)


def _capture_output(capture_fd: int) -> None:
    """In a worker: standard output, standard error and log records go to ``capture_fd``."""
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


def _flush() -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _tail(fd: int, offset: int = 0) -> str:
    """The end of what the capture file ``fd`` received since ``offset``, as text."""
    end = os.lseek(fd, 0, os.SEEK_END)
    start = max(offset, end - _OUTPUT_LIMIT * 4)
    return os.pread(fd, end - start, start).decode("utf-8", "replace")[-_OUTPUT_LIMIT:]


def _in_child(function: Callable[[], Any], write_fd: int, capture_fd: int, memory: int) -> None:
    """The child's side: run ``function`` with output captured, send the result, exit."""
    try:
        _capture_output(capture_fd)
        if memory > 0:
            limit = _address_space() + memory
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            result: tuple[str, Any] = ("ok", function())
        except BaseException as exc:  # the target may raise anything, SystemExit included
            result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        _flush()
        try:
            data = pickle.dumps(result)
        except Exception as exc:
            data = pickle.dumps(("error", f"the result could not be sent back: {exc!r}"))
        _write_all(write_fd, data)
    finally:
        os._exit(0)


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed when the process that forked it dies, however it dies (a
    SIGKILL included), rather than run on, re-parented, with nobody to read its results."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


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
        parent = os.getpid()
        pid = _fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _die_with_parent(parent)
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
        output = _tail(capture.fileno())
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


@dataclass(frozen=True)
class CheckEvent:
    """A check of :func:`run_checks_isolated` starting (``outcome is None``) or judged."""

    index: int
    """The check's position in the sequence given."""
    outcome: CheckOutcome | None = None
    seconds: float = 0.0
    """How long the check took, from its first start (judged events only)."""


#: A frame from a worker: its length, then the pickled message.
_LENGTH = struct.Struct("!I")


def _send(fd: int, message: tuple[Any, ...]) -> None:
    try:
        data = pickle.dumps(message)
    except Exception as exc:  # an outcome the target made unpicklable
        data = pickle.dumps(
            ("error", message[1], f"the result could not be sent back: {exc!r}", "")
        )
    _write_all(fd, _LENGTH.pack(len(data)) + data)


def _limit_memory(memory: int) -> None:
    """Let the address space grow by at most ``memory`` bytes from here (soft limit)."""
    if memory <= 0:
        return
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft = _address_space() + memory
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _serve_checks(
    checks: Sequence[Check],
    first: int,
    context_for: Callable[[Check], Context],
    write_fd: int,
    capture_fd: int,
    memory: int,
    deadline: float | None,
) -> None:
    """A worker's side: run ``checks[first:]`` in order, a frame for each start and result,
    until one raises out of the harness, the run's ``deadline`` passes or the checks left
    the worker holding too much memory; then exit."""
    try:
        _capture_output(capture_fd)
        resident = _memory(1)
        for index in range(first, len(checks)):
            if deadline is not None and time.monotonic() >= deadline:
                break
            if index > first and _memory(1) - resident > _RETIRE_RESIDENT:
                break
            check = checks[index]
            _flush()
            offset = os.lseek(capture_fd, 0, os.SEEK_END)
            _send(write_fd, ("start", index, offset))
            _limit_memory(memory)
            try:
                outcome = _check_in_child(check, context_for(check))
            except BaseException as exc:  # the target may raise anything, SystemExit included
                reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
                _flush()
                _send(write_fd, ("error", index, reason, _tail(capture_fd, offset)))
                break
            _flush()
            _send(write_fd, ("done", index, outcome, _tail(capture_fd, offset)))
            gc.collect()  # what the check left in reference cycles goes before the next one
    finally:
        os._exit(0)


def _failed(check: Check, reason: str, output: str, cause: str = "died") -> CheckOutcome:
    """The outcome of a check whose worker died, overran or raised.

    A worker that died or raised fails all the check's requirements with the reason and the
    target's last output. A call that held its worker past the call limit witnesses MM-RES-002
    alone, and a check that merely ran out of its time witnesses nothing: their requirements
    are left unjudged, with the reason."""
    outcome = CheckOutcome(check=check.name)
    message = f"{check.name}: the check {reason}"
    if cause == "died":
        outcome.fail(Failure(check.requirements, message).with_output(output.strip() or None))
        return outcome
    if cause == "call":
        outcome.fail(Failure((callboard.TIMELY,), message).with_output(output.strip() or None))
    outcome.leave(check.requirements, f"not judged: {message}")
    return outcome


def _with_output(outcome: CheckOutcome, output: str) -> CheckOutcome:
    if outcome.failures and output.strip():
        outcome.failures = [f.with_output(output.strip()) for f in outcome.failures]
    return outcome


class _Worker:
    """The parent's side of one worker: its process, its frames and its capture file."""

    def __init__(
        self,
        checks: Sequence[Check],
        first: int,
        context_for: Callable[[Check], Context],
        memory: int,
        deadline: float | None,
        held: frozenset[str] = frozenset(),
    ) -> None:
        self.capture = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.board = callboard.CallBoard()
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        try:
            self.pid = _fork()
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            self.capture.close()
            self.board.close()
            raise
        if self.pid == 0:  # pragma: no cover - the child never returns
            _die_with_parent(parent)
            callboard.serve(self.board, held)
            os.close(read_fd)
            _serve_checks(
                checks, first, context_for, write_fd, self.capture.fileno(), memory, deadline
            )
        os.close(write_fd)
        self.read_fd = read_fd
        self.buffer = b""
        self.closed = False
        self.offset = 0  # where the capture file stood when the running check started

    def next_frame(self, until: float) -> tuple[Any, ...] | None:
        """The next frame; ``None`` when the worker closed its pipe. Raises ``TimeoutError``
        when none came by ``until`` (a ``time.monotonic()`` reading)."""
        while True:
            if len(self.buffer) >= _LENGTH.size:
                (size,) = _LENGTH.unpack_from(self.buffer)
                if len(self.buffer) >= _LENGTH.size + size:
                    data = self.buffer[_LENGTH.size : _LENGTH.size + size]
                    self.buffer = self.buffer[_LENGTH.size + size :]
                    frame: tuple[Any, ...] = pickle.loads(data)
                    return frame
            if self.closed:
                return None
            left = until - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 16)
                if chunk:
                    self.buffer += chunk
                else:
                    self.closed = True

    def output_since_start(self) -> str:
        """The end of what the worker printed since its running check started."""
        return _tail(self.capture.fileno(), self.offset)

    def end(self, kill: bool) -> int:
        """Reap the worker (killing it first if ``kill``); its wait status."""
        os.close(self.read_fd)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            return os.waitpid(self.pid, 0)[1]
        return _reap(self.pid)

    def close(self) -> None:
        self.capture.close()
        self.board.close()


def run_checks_isolated(
    checks: Sequence[Check],
    context_for: Callable[[Check], Context],
    *,
    check_timeout: float,
    memory: int = DEFAULT_MAX_MEMORY,
    deadline: float | None = None,
) -> Iterator[CheckEvent]:
    """Run ``checks`` in order in forked workers; an event as each starts and as each is judged.

    A worker runs check after check. One that dies, raises out of the harness or runs past
    ``check_timeout`` plus a grace period (it is killed then) is replaced: the check it was
    running is judged again as the first check of a fresh worker, and fails every
    requirement it covers only if it kills or overruns that one too (or the run reached
    ``deadline``, a ``time.monotonic()`` reading). No check starts after ``deadline``; the
    events stop there. Each check may grow the worker's address space by ``memory`` bytes;
    a worker left holding much more memory than it started with is replaced before the next
    check.
    """
    index = 0
    started: dict[int, float] = {}
    held: set[str] = set()
    while index < len(checks):
        if deadline is not None and time.monotonic() >= deadline:
            return
        first = index
        worker = _Worker(checks, first, context_for, memory, deadline, frozenset(held))
        running: int | None = None
        reason = output = ""
        kill = False
        cause = "died"
        since = time.monotonic()
        try:
            while True:
                until = since + check_timeout + _GRACE
                if deadline is not None:
                    until = min(until, deadline)
                try:
                    frame = worker.next_frame(min(until, time.monotonic() + _POLL))
                except TimeoutError:
                    overdue_call = worker.board.overdue(_CALL_GRACE)
                    if overdue_call is not None:
                        kill, cause = True, "call"
                        held.add(overdue_call.label)
                        reason = (
                            f"made a {overdue_call.label} call that did not return within "
                            f"{overdue_call.limit:g} s (the process did not respond)"
                        )
                        break
                    if time.monotonic() < until:
                        continue
                    kill, cause = True, "overrun"
                    reason = f"did not finish within {until - since:g} s and was killed"
                    break
                if frame is None:
                    break
                kind, at = frame[0], frame[1]
                if kind == "start":
                    running, since, worker.offset = at, time.monotonic(), frame[2]
                    if at not in started:
                        started[at] = since
                        yield CheckEvent(at)
                elif kind == "done":
                    running, index, since = None, at + 1, time.monotonic()
                    outcome = _with_output(frame[2], frame[3])
                    yield CheckEvent(at, outcome, since - started[at])
                else:  # "error": the check raised out of the harness; the worker stops
                    reason, output, kill = frame[2], frame[3], True
                    break
        finally:
            status = worker.end(kill)
            if running is not None and not output:
                output = worker.output_since_start()
            worker.close()
        if running is None:
            if index == first:  # the worker stopped before its first check: the deadline
                return
            continue
        if not reason:
            reason = f"the worker process {_describe_exit(status)} before it finished"
        overdue = deadline is not None and time.monotonic() >= deadline
        if running == first or overdue:
            outcome = _failed(checks[running], reason, output, cause)
            yield CheckEvent(running, outcome, time.monotonic() - started[running])
            index = running + 1
        else:
            index = running
