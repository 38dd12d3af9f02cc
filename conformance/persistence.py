"""Persistence: a second manager over the same backend sees the first one's writes."""

from __future__ import annotations

from memspec.catalogue import Profile
from memspec.conformance.calls import memory_input, read, write
from memspec.conformance.checks import Check, Context
from memspec.conformance.results import CheckFailure
from memspec.models import ConversationMemoryType

__all__ = ["CHECKS"]

_ST = ConversationMemoryType.SHORT_TERM_MEMORY


def _second_instance(context: Context) -> None:
    ids = ("MM-DUR-001",)
    first = context.manager(ttl=3600)
    write(first, "store", "durable", "one", "two")
    write(first, "store", "durable", "short", memory_type=_ST)
    write(first, "store", "doomed", "x")
    second = context.reopen(first)
    if read(second, "durable") != ["one", "two"]:
        raise CheckFailure(ids, "a second manager on the same backend does not see a store")
    if read(second, "durable", _ST) != ["short"]:
        raise CheckFailure(ids, "a second manager does not see another memory type's store")
    second.delete(memory_input("doomed"))
    if read(first, "doomed") != []:
        raise CheckFailure(ids, "a delete through the second manager is not seen by the first")
    write(first, "update", "durable", "three")
    if read(second, "durable") != ["three"]:
        raise CheckFailure(ids, "an update through the first manager is not seen by the second")
    write(second, "update", "doomed", "back?")
    if read(first, "doomed") != []:
        raise CheckFailure(("MM-UPD-003",), "an update through the second manager created a slot")


CHECKS: tuple[Check, ...] = (
    Check(
        "persistence:second-instance",
        Profile.PERSISTENCE,
        ("MM-DUR-001",),
        _second_instance,
        "a second manager over the same backend sees writes and deletes",
    ),
)
