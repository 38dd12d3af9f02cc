"""Exceptions shared by every memory manager."""

from __future__ import annotations

__all__ = ["MemoryBackendError"]


class MemoryBackendError(RuntimeError):
    """The storage behind a manager failed (connection lost, timeout, corrupt record, ...).

    Raised instead of returning an empty result, because an agent that reads "no memory" would
    overwrite the real one. The original exception is chained as ``__cause__``. Messages never
    contain credentials.
    """
