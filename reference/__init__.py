"""Reference implementations of the memspec contract.

``InMemoryManager`` (and its async twin) is the reference every other manager is compared
with in the documentation; all of them pass the conformance suite. The Redis managers need
the ``redis`` extra and are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from memspec.reference.in_memory import (
    AsyncInMemoryManager,
    InMemoryManager,
    MemoryStats,
    StorageView,
)
from memspec.reference.sqlite import (
    AsyncSQLiteMemoryManager,
    SQLiteMemoryManager,
    temporary_async_sqlite_manager,
    temporary_sqlite_manager,
)

_REDIS_NAMES = ("AsyncRedisWorkingMemoryManager", "RedisWorkingMemoryManager")

__all__ = [
    "AsyncInMemoryManager",
    "AsyncRedisWorkingMemoryManager",
    "AsyncSQLiteMemoryManager",
    "InMemoryManager",
    "MemoryStats",
    "RedisWorkingMemoryManager",
    "SQLiteMemoryManager",
    "StorageView",
    "temporary_async_sqlite_manager",
    "temporary_sqlite_manager",
]


def __getattr__(name: str) -> Any:
    if name in _REDIS_NAMES:
        try:
            module = importlib.import_module("memspec.reference.redis")
        except ImportError as exc:
            raise ImportError(
                f"{name} needs redis-py: pip install 'memspec[redis]' ({exc})"
            ) from exc
        return getattr(module, name)
    raise AttributeError(f"module 'memspec.reference' has no attribute {name!r}")
