"""The interfaces a memory manager implements, sync and async.

Both are runtime-checkable ``Protocol`` classes: a manager does not need to inherit from them,
only to have the four methods. ``isinstance`` checks the method names only, not signatures.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from memspec.models import IMemoryInput

__all__ = ["IAsyncMemoryManager", "IMemoryManager", "MemoryItem"]


@runtime_checkable
class MemoryItem(Protocol):
    """What ``retrieve`` returns items as: anything with a ``working_memory`` string."""

    @property
    def working_memory(self) -> str: ...


@runtime_checkable
class IMemoryManager(Protocol):
    """A conversation memory manager with blocking methods.

    A *slot* is the pair ``(conversation_id, memory_type)``; each method acts on one slot.
    """

    def store(self, input: IMemoryInput | Any) -> str:
        """Make the slot's content exactly ``input.data``; return the slot's key."""
        ...

    def retrieve(self, input: IMemoryInput | Any) -> list[Any]:
        """Return the slot's last-written items (``MemoryItem``s), or ``[]`` if none are live."""
        ...

    def update(self, input: IMemoryInput | Any) -> None:
        """Replace a live slot's content; do nothing if the slot is missing or expired."""
        ...

    def delete(self, input: IMemoryInput | Any) -> None:
        """Remove the slot; a missing slot is not an error."""
        ...


@runtime_checkable
class IAsyncMemoryManager(Protocol):
    """The same contract as :class:`IMemoryManager`, with coroutine methods."""

    async def store(self, input: IMemoryInput | Any) -> str:
        """Make the slot's content exactly ``input.data``; return the slot's key."""
        ...

    async def retrieve(self, input: IMemoryInput | Any) -> list[Any]:
        """Return the slot's last-written items (``MemoryItem``s), or ``[]`` if none are live."""
        ...

    async def update(self, input: IMemoryInput | Any) -> None:
        """Replace a live slot's content; do nothing if the slot is missing or expired."""
        ...

    async def delete(self, input: IMemoryInput | Any) -> None:
        """Remove the slot; a missing slot is not an error."""
        ...
