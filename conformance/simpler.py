"""Simpler runs: judging what one failed requirement would otherwise hide.

A manager that keeps only the last item of a write fails ``MM-STORE-002``, and every
requirement judged through multi-item writes (isolation, lifetimes, races) would be *blocked*
behind it. Yet such a manager works when each write holds one item, and its other defects
matter as much. :func:`one_item_per_write` wraps a manager factory so that every write of
several items reaches the manager as one item, their texts packed losslessly into one string,
and every such item a read returns is unpacked again: through it, the checks see a manager
that keeps lists whole if it keeps single items whole. The runner certifies that wrapped
target again for the requirements the first run blocked behind ``MM-STORE-002`` or
``MM-UPD-002``, and judges them from it.

Writes of one item, and inputs that are not a list of items with string texts, pass through
unchanged, so the checks of input handling, snapshots and refusals still see the manager's
own behaviour where they write single items.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from memspec.conformance.driver import field
from memspec.conformance.target import Target

__all__ = [
    "ITEM_COUNT_RULES",
    "ONE_ITEM_PREFIX",
    "one_item_per_write",
    "one_item_reproduction",
    "one_item_target",
    "pack",
    "unpack",
]

#: The requirements whose failure a one-item run works around.
ITEM_COUNT_RULES = frozenset({"MM-STORE-002", "MM-UPD-002"})

#: What starts a packed item: a private-use character no check writes, and a tag.
ONE_ITEM_PREFIX = "\ue000memspec-items:"


def pack(texts: list[str]) -> str:
    """Several texts as one, losslessly: their lengths, then the texts end to end."""
    return ONE_ITEM_PREFIX + ",".join(str(len(t)) for t in texts) + "|" + "".join(texts)


def unpack(text: str) -> list[str] | None:
    """The texts :func:`pack` made ``text`` from; ``None`` for any other text (or one the
    manager changed so that it no longer parses)."""
    if not text.startswith(ONE_ITEM_PREFIX):
        return None
    head, bar, body = text[len(ONE_ITEM_PREFIX) :].partition("|")
    if not bar or not re.fullmatch(r"\d+(,\d+)*", head):
        return None
    texts, at = [], 0
    for length in map(int, head.split(",")):
        texts.append(body[at : at + length])
        at += length
    return texts if at == len(body) else None


def _with(value: Any, name: str, new: Any) -> Any:
    """A copy of ``value`` (a mapping, a pydantic model, a dataclass or a plain object) with
    ``name`` set to ``new``; the caller's object is never changed."""
    if isinstance(value, Mapping):
        return {**value, name: new}
    model_copy = getattr(value, "model_copy", None)
    if callable(model_copy):
        return model_copy(update={name: new})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        try:
            return replace(value, **{name: new})
        except (TypeError, ValueError):
            pass
    try:
        copied = copy.copy(value)
        setattr(copied, name, new)
        return copied
    except Exception:
        return SimpleNamespace(**{**getattr(value, "__dict__", {}), name: new})


def _packed(input: Any) -> Any:
    """``input`` with a data list of several items turned into one packed item."""
    data = field(input, "data")
    if not isinstance(data, list) or len(data) < 2:
        return input
    texts = [field(item, "working_memory") for item in data]
    if not all(isinstance(text, str) for text in texts):
        return input  # invalid input: the manager must refuse it as it is
    return _with(input, "data", [_with(data[0], "working_memory", pack(texts))])


def _unpacked(result: Any) -> Any:
    """A read's result with every packed item expanded into the items it holds."""
    if not isinstance(result, list):
        return result
    expanded: list[Any] = []
    for item in result:
        text = field(item, "working_memory")
        texts = unpack(text) if isinstance(text, str) else None
        if texts is None:
            expanded.append(item)
        else:
            expanded.extend(_with(item, "working_memory", t) for t in texts)
    return expanded


class _OneItem:
    """A manager seen through :func:`one_item_per_write`; everything but the four
    operations (``close``, ``expiry_precision``...) is the manager's own."""

    def __init__(self, manager: Any) -> None:
        self.memspec_inner = manager

    def __getattr__(self, name: str) -> Any:
        return getattr(self.memspec_inner, name)

    def __repr__(self) -> str:
        return f"one_item_per_write({self.memspec_inner!r})"


class _SyncOneItem(_OneItem):
    def store(self, input: Any) -> Any:
        return self.memspec_inner.store(_packed(input))

    def update(self, input: Any) -> Any:
        return self.memspec_inner.update(_packed(input))

    def retrieve(self, input: Any) -> Any:
        return _unpacked(self.memspec_inner.retrieve(input))

    def delete(self, input: Any) -> Any:
        return self.memspec_inner.delete(input)


class _AsyncOneItem(_OneItem):
    async def store(self, input: Any) -> Any:
        return await self.memspec_inner.store(_packed(input))

    async def update(self, input: Any) -> Any:
        return await self.memspec_inner.update(_packed(input))

    async def retrieve(self, input: Any) -> Any:
        return _unpacked(await self.memspec_inner.retrieve(input))

    async def delete(self, input: Any) -> Any:
        return await self.memspec_inner.delete(input)


def _wrapped(manager: Any) -> Any:
    if inspect.iscoroutinefunction(getattr(manager, "store", None)):
        return _AsyncOneItem(manager)
    return _SyncOneItem(manager)


def _inner(manager: Any) -> Any:
    return manager.memspec_inner if isinstance(manager, _OneItem) else manager


def one_item_per_write(factory: Callable[..., Any]) -> Callable[..., Any]:
    """``factory``, with every manager it builds seen through one-item writes (see the module
    docstring); reproductions of failures judged that way use it too."""

    @functools.wraps(factory)
    def build(*args: Any, **kwargs: Any) -> Any:
        return _wrapped(factory(*args, **kwargs))

    reopen = getattr(factory, "memspec_reopen", None)
    if callable(reopen):
        build.memspec_reopen = lambda manager: _wrapped(reopen(_inner(manager)))  # type: ignore[attr-defined]
    outage = getattr(factory, "memspec_outage", None)
    if callable(outage):
        build.memspec_outage = lambda manager: outage(_inner(manager))  # type: ignore[attr-defined]
    return build


def one_item_target(target: Target) -> Target:
    """``target`` with one-item writes: same name, clock and hooks, each seeing through."""
    reopen, outage = target.reopen, target.outage
    return replace(
        target,
        factory=lambda **kwargs: _wrapped(target.factory(**kwargs)),
        reopen=None if reopen is None else lambda m: _wrapped(reopen(_inner(m))),
        outage=None if outage is None else lambda m: outage(_inner(m)),
    )


def one_item_reproduction(reproduction: str, because: str) -> str:
    """A reproduction written for the one-item run, made to build the factory that way."""
    lines = reproduction.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("factory = "):
            lines[index + 1 : index + 1] = [
                f"# {because}: every write of several items goes in as one packed item",
                "factory = one_item_per_write(factory)",
            ]
            lines.insert(0, "from memspec.conformance.simpler import one_item_per_write")
            return "\n".join(lines) + "\n"
    return reproduction
