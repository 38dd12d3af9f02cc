"""Small helpers the checks share: building inputs and reading a slot's texts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from memspec.conformance.driver import Driver
from memspec.conformance.results import CheckFailure, short
from memspec.conformance.vectors import item_texts
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory

__all__ = [
    "WM",
    "ReadOnlyMapping",
    "expect",
    "expect_read",
    "kept_earlier",
    "memory_input",
    "read",
    "read_or_refused",
    "refusal_blame",
    "write",
]

WM = ConversationMemoryType.WORKING_MEMORY


def memory_input(
    conversation_id: str,
    *texts: str,
    memory_type: ConversationMemoryType = WM,
    metadata: dict[str, Any] | None = None,
) -> IMemoryInput:
    """An ``IMemoryInput`` for one slot, with ``texts`` as its items (none for reads)."""
    data = [IWorkingMemory(working_memory=text) for text in texts] or None
    return IMemoryInput(
        conversation_id=conversation_id, memory_type=memory_type, data=data, metadata=metadata
    )


def expect_read(
    blame: Iterable[str],
    what: str,
    driver: Driver,
    conversation_id: str,
    wanted: list[str],
    memory_type: ConversationMemoryType = WM,
) -> None:
    """Read a slot and fail ``blame`` unless it holds ``wanted``; items that only another
    slot was written with fail isolation instead (:meth:`Driver.isolation_blame`)."""
    got = read(driver, conversation_id, memory_type)
    if got != wanted:
        slot, blame = (conversation_id, memory_type.value), tuple(blame)
        blamed = driver.isolation_blame(slot, got, wanted, blame) or blame
        raise CheckFailure(blamed, f"{what}: expected {short(wanted)}, got {short(got)}")


def kept_earlier(got: list[str], written: list[str], before: list[str]) -> bool:
    """Whether a slot that held ``before`` reads ``got`` after a write of ``written`` because
    the write did not replace it: the earlier content alone, or followed by the start of the
    write (an append). The witness of MM-STORE-003."""
    kept, tail = got[: len(before)], got[len(before) :]
    return bool(before) and kept == before and tail == written[: len(tail)]


def refusal_blame(
    blame: Iterable[str], what: str, exc: Exception, plain: Callable[[], object] | None
) -> tuple[tuple[str, ...], str]:
    """Whom to blame, and why, for a write (``what``) that raised ``exc``: MM-META-003 when
    the same write without its metadata (``plain``) then succeeds, since the metadata was
    refused; otherwise ``blame``, whatever the write was there to show."""
    raised = f"{what} raised {type(exc).__name__}: {exc}"
    if plain is not None:
        try:
            plain()
        except Exception:  # the write fails without metadata too
            pass
        else:
            return ("MM-META-003",), f"{raised}; the same {what} without its metadata succeeded"
    return tuple(blame), raised


def read(
    driver: Driver,
    conversation_id: str,
    memory_type: ConversationMemoryType = WM,
    *,
    blame: Iterable[str] = ("MM-RETR-001",),
) -> list[str]:
    """Retrieve a slot and return its texts; a malformed result fails ``blame``."""
    result = driver.retrieve(memory_input(conversation_id, memory_type=memory_type))
    texts = item_texts(result)
    if isinstance(texts, str):
        blamed = ("MM-RETR-002",) if result is None else tuple(blame)
        raise CheckFailure(blamed, f"retrieve of {short(conversation_id, 60)} returned {texts}")
    return texts


def expect(blame: Iterable[str], what: str, got: list[Any], wanted: list[str]) -> None:
    """Fail ``blame`` unless ``got`` is ``wanted``; the message shows both, cut if long."""
    if got != wanted:
        raise CheckFailure(tuple(blame), f"{what}: expected {short(wanted)}, got {short(got)}")


def read_or_refused(
    driver: Driver,
    conversation_id: str,
    refusals: tuple[type[Exception], ...] = (ValueError, TypeError),
) -> list[str]:
    """A slot's texts, or ``[]`` when reading that ID raises one of ``refusals``."""
    try:
        return read(driver, conversation_id)
    except refusals:
        return []


def write(driver: Driver, operation: str, conversation_id: str, *texts: str, **extra: Any) -> Any:
    """Call ``store`` or ``update`` on one slot with ``texts`` as its items."""
    return driver.call(operation, memory_input(conversation_id, *texts, **extra))


class ReadOnlyMapping(Mapping[str, Any]):
    """A mapping that is neither a ``dict`` nor a ``MappingProxyType``: how other frameworks
    hand over read-only data."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)
