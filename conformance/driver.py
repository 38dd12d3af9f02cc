"""Calling a manager from the suite: sync or async, each call bounded in time.

Every manager gets a :class:`Driver` that owns one worker thread running a private event loop.
Sync methods run on that thread; coroutine methods are awaited on its loop, so certification
never depends on the caller's event loop or pytest-asyncio settings. A call that does not
finish within the time limit raises :class:`CallTimeout` and poisons the driver: the worker is
abandoned (a hung thread cannot be killed) and every later call fails at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from memspec.conformance import callboard
from memspec.conformance.callboard import CallTimeout, TimeUp
from memspec.conformance.sharing import foreign_writers, isolation_requirement

__all__ = ["DEFAULT_CALL_TIMEOUT", "CallTimeout", "Driver", "TargetAborted", "TimeUp", "field"]

#: The operations that write items, whose texts :attr:`Driver.written` keeps.
_WRITES = frozenset({"store", "update"})
_WORKING = "WORKING_MEMORY"
#: Requirements whose witnesses are slots that read each other's items already.
_ABOUT_IDS = frozenset({"MM-ISO-001", "MM-ISO-002", "MM-ISO-003", "MM-LIMIT-004"})

#: Seconds a single manager call may take before it counts as hung.
DEFAULT_CALL_TIMEOUT = 10.0

T = TypeVar("T")


class TargetAborted(Exception):
    """The target raised ``SystemExit`` or ``KeyboardInterrupt`` from a call.

    Turned into an ordinary exception so that it fails the call it came from instead of
    stopping the driver's event loop.
    """


def field(value: Any, name: str, default: Any = None) -> Any:
    """A field of an input or item of any shape: a mapping's key or an object's attribute."""
    if isinstance(value, Mapping):
        return value.get(name, default)
    return getattr(value, name, default)


def _settle(future: concurrent.futures.Future[T], function: Callable[[], T]) -> None:
    """Run ``function`` for ``future`` (unless it was cancelled) and set its outcome."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(function())
    except BaseException as exc:
        future.set_exception(exc)


class _PlainThread:
    """One daemon thread that runs submitted functions in turn, with no event loop in it (a
    hung function leaves it behind without keeping the process alive)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Callable[[], Any]] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="memspec-driver-sync", daemon=True)
        self._thread.start()

    def submit(self, function: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((future, function))
        return future

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            _settle(*job)

    def stop(self, wait: float) -> None:
        self._jobs.put(None)
        if wait > 0:
            self._thread.join(wait)


class Driver:
    """Runs a manager's operations on a private thread and event loop, with a time limit."""

    def __init__(
        self,
        manager: Any = None,
        *,
        timeout: float = DEFAULT_CALL_TIMEOUT,
        deadline: float | None = None,
        plain_thread: bool = False,
    ) -> None:
        self.manager: Any = None
        self.is_async = False
        self.timeout = timeout
        #: Sync work (building, sync operations) runs on a plain thread with no event loop
        #: in it, as a sync manager's users call it; otherwise on the event loop's thread.
        self._plain = _PlainThread() if plain_thread else None
        self._board = callboard.current()
        self._slot = self._board.slot() if self._board is not None else 0
        #: ``time.monotonic()`` reading after which no call may start or go on (the check's
        #: own time limit); ``None`` for none.
        self.deadline = deadline
        if manager is not None:
            self.attach(manager)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="memspec-driver", daemon=True
        )
        self._thread.start()
        self._hung: str | None = None
        #: The texts written through this driver to each slot, (conversation ID, memory type
        #: value): what a mismatch is checked against before blame (see ``isolation_blame``).
        self.written: dict[tuple[str, str], set[str]] = {}

    def attach(self, manager: Any) -> None:
        """Drive ``manager`` from now on (a manager may be built on the driver's thread first)."""
        self.manager = manager
        self.is_async = inspect.iscoroutinefunction(getattr(manager, "store", None))

    # -- the four operations -------------------------------------------------------------

    def store(self, input: Any) -> Any:
        """Call the manager's ``store``."""
        return self.call("store", input)

    def retrieve(self, input: Any) -> Any:
        """Call the manager's ``retrieve``."""
        return self.call("retrieve", input)

    def update(self, input: Any) -> Any:
        """Call the manager's ``update``."""
        return self.call("update", input)

    def delete(self, input: Any) -> Any:
        """Call the manager's ``delete``."""
        return self.call("delete", input)

    def call(self, operation: str, input: Any) -> Any:
        """Call one operation by name and return its result (awaited if async)."""
        if operation in _WRITES:
            self._note(input)
        method = getattr(self.manager, operation)
        if self.is_async:
            return self.run(lambda: method(input), label=operation)
        return self.run_sync(lambda: method(input), label=operation)

    def call_many(self, operation: str, inputs: list[Any]) -> list[Any]:
        """Call one operation once per input, in order, in a single hop to the driver thread.

        The time limit applies to each call, not to the batch: a batch of slow calls that
        each return in time is not a hung call."""
        if operation in _WRITES:
            for input in inputs:
                self._note(input)
        method = getattr(self.manager, operation)
        started = [time.monotonic()]  # when the call in flight began
        if self.is_async:

            async def each() -> list[Any]:
                results = []
                for input in inputs:
                    started[0] = time.monotonic()
                    results.append(await method(input))
                return results

            return self.run(each, label=operation, progress=started)

        def every() -> list[Any]:
            results = []
            for input in inputs:
                started[0] = time.monotonic()
                results.append(method(input))
            return results

        return self.run_sync(every, label=operation, progress=started)

    @staticmethod
    def slot_of(input: Any) -> tuple[str, str] | None:
        """The slot an input names, as :attr:`written` keys it: (conversation ID, memory type
        value); ``None`` for an input of an odd shape."""
        conversation_id = field(input, "conversation_id")
        memory_type = field(input, "memory_type", _WORKING)
        memory_type = getattr(memory_type, "value", memory_type)
        if not isinstance(conversation_id, str) or not isinstance(memory_type, str):
            return None
        return conversation_id, memory_type

    def _note(self, input: Any) -> None:
        """Add a write's texts to :attr:`written`; inputs of odd shapes are left out."""
        slot = self.slot_of(input)
        if slot is None:
            return
        data = field(input, "data")
        texts = self.written.setdefault(slot, set())
        for item in data if isinstance(data, list) else ():
            text = field(item, "working_memory")
            if isinstance(text, str):
                texts.add(text)

    def isolation_blame(
        self, slot: tuple[str, str], got: list[str], wanted: list[str], blame: Iterable[str]
    ) -> tuple[str, ...] | None:
        """When a read of ``slot`` (conversation ID, memory type value) came back with items
        it was not meant to hold, each written through this driver to another slot and never
        to this one: the isolation requirement that witness contradicts, whatever the read
        was there to show (MM-ISO-002 for another memory type of the conversation, MM-ISO-003
        for an ID that differs only in what careless keys erase, else MM-ISO-001); ``None``
        when the items are not such a witness, or ``blame`` (what the read was there to
        show) is already a requirement about which IDs share a slot."""
        if _ABOUT_IDS.intersection(blame):
            return None
        sources = foreign_writers(slot, got, wanted, self.written)
        return isolation_requirement(slot[0], (s[0] for s in sources)) if sources else None

    # -- running ------------------------------------------------------------------------

    def run(
        self,
        make: Callable[[], Awaitable[T]],
        *,
        label: str = "call",
        progress: list[float] | None = None,
    ) -> T:
        """Await ``make()`` on the driver's loop and return its result, within the limit
        (of each call ``make`` makes, when it records their starts in ``progress``)."""

        async def runner() -> T:
            try:
                return await make()
            except (SystemExit, KeyboardInterrupt) as exc:
                raise TargetAborted(f"{label} raised {type(exc).__name__}({exc})") from None

        coroutine = runner()
        return self._wait(
            lambda: asyncio.run_coroutine_threadsafe(coroutine, self._loop),
            label,
            unsent=coroutine.close,
            progress=progress,
        )

    def run_sync(
        self, function: Callable[[], T], *, label: str = "call", progress: list[float] | None = None
    ) -> T:
        """Call ``function()`` on the driver's thread and return its result, within the limit
        (of each call ``function`` makes, when it records their starts in ``progress``).

        On a plain thread for a sync manager (no event loop runs there, as in its users'
        programs); otherwise a plain callback on the loop, not a task: a sync call has
        nothing to await, and the hop costs half as much as a task's."""

        def guarded() -> T:
            try:
                return function()
            except (SystemExit, KeyboardInterrupt) as exc:
                raise TargetAborted(f"{label} raised {type(exc).__name__}({exc})") from None

        plain = self._plain
        if plain is not None:
            return self._wait(lambda: plain.submit(guarded), label, progress=progress)

        def submit() -> concurrent.futures.Future[T]:
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            self._loop.call_soon_threadsafe(_settle, future, guarded)
            return future

        return self._wait(submit, label, progress=progress)

    def _wait(
        self,
        submit: Callable[[], concurrent.futures.Future[T]],
        label: str,
        unsent: Callable[[], object] = lambda: None,
        progress: list[float] | None = None,
    ) -> T:
        """Start the call with ``submit()`` and wait for its result within the limit;
        ``unsent()`` cleans up when the call is refused before it starts. With
        ``progress`` (where a batch records when each of its calls started), the limit
        applies to each call. The call is marked on the worker's call board meanwhile."""
        if self._hung is not None:
            unsent()
            raise TimeUp(f"not called: an earlier {self._hung} call never returned")
        try:
            callboard.refuse_held(label, self.timeout)
        except CallTimeout:
            unsent()
            raise
        if self.deadline is not None and self.deadline - time.monotonic() <= 0:
            unsent()
            raise TimeUp(f"not called: the check ran out of its time limit ({label})")
        board, slot = self._board, self._slot
        begun = time.monotonic() if progress is None else progress[0]
        if board is not None:
            board.begin(slot, label, self.timeout, begun)
        future = submit()
        try:
            while True:
                if progress is not None and progress[0] != begun:
                    begun = progress[0]  # the batch moved on to its next call
                    if board is not None:
                        board.begin(slot, label, self.timeout, begun)
                end = begun + self.timeout
                late = CallTimeout(f"{label} did not return within {self.timeout:g} s")
                if self.deadline is not None and self.deadline < end:
                    end = self.deadline
                    late = TimeUp(f"{label} was still running when the check's time ran out")
                left = end - time.monotonic()
                if left <= 0:
                    future.cancel()
                    self._hung = label
                    raise late
                try:
                    return future.result(left if progress is None else min(left, 0.5))
                except concurrent.futures.TimeoutError:
                    continue
        finally:
            if board is not None:
                board.end(slot)

    def close(self) -> None:
        """Stop the worker thread (left running, detached, if a call hung)."""
        if self._plain is not None:
            self._plain.stop(self.timeout if self._hung is None else 0.0)
        if self._hung is None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.timeout)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
