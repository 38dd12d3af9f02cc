"""Which isolation requirement a slot breaks when it reads items written to other slots.

The state machine and the driver both keep every text written to each slot; when a read
disagrees with what was expected, items this slot was never written with but other slots
were are the witness of a shared slot, whatever the read was there to show.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

__all__ = ["alike_ids", "foreign_writers", "isolation_requirement"]

#: A slot: (conversation ID, memory type in whatever form its keeper uses).
S = TypeVar("S", bound=tuple[str, Any])


def alike_ids(first: str, second: str) -> bool:
    """Whether two IDs differ only in ways careless key schemes erase: case, Unicode
    normalisation, surrounding white space, what follows a ``:``, surrounding ``*``
    (MM-ISO-003's witness when they share a slot)."""

    def fold(text: str) -> str:
        return unicodedata.normalize("NFKC", text).casefold().strip().split(":")[0].strip("*")

    return fold(first) == fold(second)


def foreign_writers(
    slot: S, got: Iterable[str], wanted: Iterable[str], written: Mapping[S, set[str]]
) -> list[S]:
    """The other slots whose writes explain every item a read of ``slot`` returned but was
    not meant to, when ``slot`` itself was never written with any of them; ``[]`` when the
    read holds no such items or some item no write explains."""
    extras = set(got) - set(wanted)
    if not extras or extras & written.get(slot, set()):
        return []
    sources = [other for other, texts in written.items() if extras & texts]
    if not extras <= set().union(*(written[other] for other in sources)):
        return []
    return sources


def isolation_requirement(conversation_id: str, sources: Iterable[str]) -> tuple[str, ...]:
    """The requirement a slot of ``conversation_id`` breaks by reading items written to
    slots of the ``sources`` conversations: MM-ISO-002 when one is its own conversation (a
    memory type), MM-ISO-003 when one differs only in what careless keys erase, else
    MM-ISO-001."""
    sources = list(sources)
    if conversation_id in sources:
        return ("MM-ISO-002",)
    if any(alike_ids(source, conversation_id) for source in sources):
        return ("MM-ISO-003",)
    return ("MM-ISO-001",)
