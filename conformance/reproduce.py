"""Reproduction snippets: self-contained Python programs that replay a failure."""

from __future__ import annotations

import re

__all__ = ["snippet"]

_AWAITED = ("store", "update", "delete", "retrieve")


def snippet(target: str, is_async: bool, code: list[str], *, clock_start: float) -> str:
    """A program that builds the target (``module:attr``) and runs ``code`` against it.

    ``code`` lines may use ``manager``, ``clock`` (a FakeClock), ``T`` (the memory types),
    ``W`` (IWorkingMemory), ``IMemoryInput``, ``BIG`` (the large test string),
    ``build_input`` and ``texts``; the program imports and defines only those it uses. An
    ``assert texts(...) == expected`` line becomes one that says what it got when it fails.
    For an async target every operation is awaited inside ``asyncio.run``.
    """
    code = [_explained(line) for line in code]
    used = "\n".join(code)
    module, colon, attr = target.partition(":")
    if colon:
        source = [f"from {module} import {attr.split('.')[0]}", "", f"factory = {attr}"]
    else:
        source = ["", f"factory = ...  # replace with the factory under test: {module}"]
    names = [
        name
        for name, token in (
            ("ConversationMemoryType as T", "T."),
            ("IMemoryInput", "IMemoryInput("),
            ("IWorkingMemory as W", "W("),
        )
        if token in used
    ]
    head = [f"from memspec import {', '.join(names)}"] if names else []
    if "clock" in used:
        head.append("from memspec.conformance import FakeClock")
    if "build_input(" in used:
        head.append("from memspec.conformance.vectors import build_input")
    head += source
    if "BIG" in used:
        head.append("BIG = " + repr("\u00e9\U0001f600") + " * 10240")
    if "clock" in used:
        head.append(f"clock = FakeClock({clock_start!r})")
    if "texts(" in used:
        head += ["", "", "def texts(items):", "    return [item.working_memory for item in items]"]
    head += ["", ""]
    if not is_async:
        return "\n".join([*head, *code]) + "\n"
    body = []
    for line in code:
        for operation in _AWAITED:
            line = line.replace(f"manager.{operation}(", f"await manager.{operation}(")
        body.append("    " + line.replace("\n", "\n    "))
    return (
        "\n".join(
            ["import asyncio", *head, "async def main():", *body, "", "", "asyncio.run(main())"]
        )
        + "\n"
    )


def _explained(line: str) -> str:
    """``assert texts(X) == Y  # ...`` as two lines whose assertion shows what it got."""
    match = re.fullmatch(r"assert (texts\(.*\)) == (\[.*?\])(\s+#.*)?", line)
    if match is None:
        return line
    call, expected, _ = match.groups()
    return (
        f"expected = {expected}\ngot = {call}\n"
        "assert got == expected, f'expected {expected!r}, got {got!r}'"
    )
