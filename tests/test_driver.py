"""The driver: sync and async managers, time limits, and closing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from memspec.conformance.driver import CallTimeout, Driver


class Slow:
    def __init__(self) -> None:
        self.release = threading.Event()

    def store(self, input: Any) -> str:
        self.release.wait()
        return "k"

    def retrieve(self, input: Any) -> list[Any]:
        return []


class Async:
    async def store(self, input: Any) -> str:
        return f"async-{input}"


def test_sync_calls_run_on_the_driver_thread() -> None:
    seen: list[str] = []

    class Manager:
        def retrieve(self, input: Any) -> list[Any]:
            seen.append(threading.current_thread().name)
            return [input]

    with Driver(Manager()) as driver:
        assert driver.retrieve(1) == [1]
        assert driver.call_many("retrieve", [2, 3]) == [[2], [3]]
    assert seen == ["memspec-driver"] * 3


def test_async_methods_are_awaited_on_the_drivers_loop() -> None:
    with Driver(Async()) as driver:
        assert driver.is_async
        assert driver.store("x") == "async-x"
        assert driver.call_many("store", ["a", "b"]) == ["async-a", "async-b"]


def test_a_hung_call_times_out_and_poisons_the_driver() -> None:
    slow = Slow()
    driver = Driver(slow, timeout=0.1)
    with pytest.raises(CallTimeout, match=r"store did not return within 0\.1 s"):
        driver.store(None)
    with pytest.raises(CallTimeout, match="an earlier store call never returned"):
        driver.retrieve(None)
    slow.release.set()
    driver.close()


def test_exceptions_propagate_unchanged() -> None:
    class Broken:
        def delete(self, input: Any) -> None:
            raise KeyError("boom")

    with Driver(Broken()) as driver, pytest.raises(KeyError, match="boom"):
        driver.delete(None)
