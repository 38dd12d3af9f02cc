"""Targets that attack the harness itself: each must end in a verdict, in bounded time."""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from corpus.simple import SimpleManager


class ExitsProcess(SimpleManager):
    """``store`` ends the whole process with status 0, as a stray ``os._exit`` would."""

    def store(self, input: Any) -> str:
        os._exit(0)


class HoldsTheGIL(SimpleManager):
    """``retrieve`` runs a catastrophic regular expression, which never releases the GIL."""

    def retrieve(self, input: Any) -> list[Any]:
        re.match(r"(a+)+$", "a" * 64 + "b")
        return super().retrieve(input)


class RaisesSystemExit(SimpleManager):
    """``store`` raises ``SystemExit``, as a library calling ``sys.exit`` would."""

    def store(self, input: Any) -> str:
        raise SystemExit(0)


class RaisesKeyboardInterrupt(SimpleManager):
    """``store`` raises ``KeyboardInterrupt``."""

    def store(self, input: Any) -> str:
        raise KeyboardInterrupt


class LeaksThread(SimpleManager):
    """Starts a non-daemon thread per manager that never ends (a forgotten worker)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop = threading.Event()
        threading.Thread(target=self._stop.wait, name="forgotten-worker").start()


class EatsMemory(SimpleManager):
    """``store`` keeps allocating, like a cache with no bound on a huge input."""

    def store(self, input: Any) -> str:
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))
