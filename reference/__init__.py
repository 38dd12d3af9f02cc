"""Reference implementations of the memspec contract.

``InMemoryManager`` (and its async twin) is the reference every other manager is compared
with in the documentation; all of them pass the conformance suite. The Redis managers need
the ``redis`` extra and are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from memspec.reference.agent import (
    ILLM,
    IAgentInput,
    ILLMConfig,
    ILLMInput,
    WorkingMemoryAgent,
)
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

#: Names imported on first use, because they need an optional extra: name -> (module, extra).
_LAZY = {
    "AsyncPostgresMemoryManager": ("memspec.reference.postgres", "postgres"),
    "AsyncRedisWorkingMemoryManager": ("memspec.reference.redis", "redis"),
    "PostgresMemoryManager": ("memspec.reference.postgres", "postgres"),
    "RedisWorkingMemoryManager": ("memspec.reference.redis", "redis"),
    "OpenAIClient": ("memspec.reference.llm", "openai"),
}

__all__ = [
    "ILLM",
    "AsyncInMemoryManager",
    "AsyncPostgresMemoryManager",
    "AsyncRedisWorkingMemoryManager",
    "AsyncSQLiteMemoryManager",
    "IAgentInput",
    "ILLMConfig",
    "ILLMInput",
    "InMemoryManager",
    "MemoryStats",
    "OpenAIClient",
    "PostgresMemoryManager",
    "RedisWorkingMemoryManager",
    "SQLiteMemoryManager",
    "StorageView",
    "WorkingMemoryAgent",
    "temporary_async_sqlite_manager",
    "temporary_sqlite_manager",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, extra = _LAZY[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ImportError(
                f"{name} needs the {extra!r} extra: pip install 'memspec[{extra}]'"
            ) from exc
        return getattr(module, name)
    raise AttributeError(f"module 'memspec.reference' has no attribute {name!r}")
