"""Reproduction snippets: self-contained Python programs that replay a failure."""

from __future__ import annotations

__all__ = ["snippet"]

_AWAITED = ("store", "update", "delete", "retrieve")


def snippet(target: str, is_async: bool, code: list[str], *, clock_start: float) -> str:
    """A program that builds the target (``module:attr``) and runs ``code`` against it.

    ``code`` lines use ``manager``, ``clock`` (a FakeClock), ``T`` (the memory types), ``W``
    (IWorkingMemory), ``BIG`` (the large test string), ``build_input`` and ``texts``. For an
    async target every operation is awaited inside ``asyncio.run``.
    """
    module, colon, attr = target.partition(":")
    if colon:
        source = [f"from {module} import {attr.split('.')[0]}", "", f"factory = {attr}"]
    else:
        source = ["", f"factory = ...  # replace with the factory under test: {module}"]
    head = [
        "from memspec import ConversationMemoryType as T, IMemoryInput, IWorkingMemory as W",
        "from memspec.conformance import FakeClock",
        "from memspec.conformance.vectors import build_input",
        *source,
        "BIG = " + repr("\u00e9\U0001f600") + " * (1 << 18)",
        f"clock = FakeClock({clock_start!r})",
        "",
        "",
        "def texts(items):",
        "    return [item.working_memory for item in items]",
        "",
        "",
    ]
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
