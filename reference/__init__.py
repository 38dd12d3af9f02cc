"""Reference implementations of the memspec contract.

``InMemoryManager`` (and its async twin) is the reference every other manager is compared
with in the documentation; all of them pass the conformance suite.
"""

from __future__ import annotations

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

__all__ = [
    "AsyncInMemoryManager",
    "AsyncSQLiteMemoryManager",
    "InMemoryManager",
    "MemoryStats",
    "SQLiteMemoryManager",
    "StorageView",
    "temporary_async_sqlite_manager",
    "temporary_sqlite_manager",
]
