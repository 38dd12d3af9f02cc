"""mkdocs hook: the command line's options, generated from its argparse parser.

``<!-- cli: COMMAND -->`` in a page becomes a table of every argument and option of
``memspec COMMAND``, read from :func:`memspec.conformance.cli.build_parser` at build time, so
the guide lists exactly what ``--help`` does and cannot drift from it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from memspec.conformance.cli import build_parser

_CLI = re.compile(r"<!--\s*cli:\s*([a-z-]+)\s*-->")


def _subparser(command: str) -> argparse.ArgumentParser:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = action.choices.get(command)
            if isinstance(found, argparse.ArgumentParser):
                return found
    raise ValueError(f"memspec has no command {command!r}")


def _usage(action: argparse.Action) -> str:
    """How the argument is written: ``--seed SEED``, ``-q``, ``--quiet``, ``TARGET``."""
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        return ", ".join(f"`{flag}`" for flag in action.option_strings)
    if action.metavar is not None:
        value = str(action.metavar)
    elif action.choices is not None:
        value = "{" + ",".join(str(choice) for choice in action.choices) + "}"
    else:
        value = action.dest.upper()
    return ", ".join(f"`{flag} {value}`" for flag in action.option_strings)


def _meaning(action: argparse.Action) -> str:
    text = (action.help or "").strip()
    if isinstance(action, argparse._AppendAction):
        text += " (repeatable)" if "repeatable" not in text else ""
    return text.replace("|", "\\|")


def options_table(command: str) -> str:
    """A Markdown table of ``memspec COMMAND``'s arguments, in ``--help`` order."""
    rows = ["| argument | meaning |", "|---|---|"]
    for action in _subparser(command)._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        rows.append(f"| {_usage(action)} | {_meaning(action)} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace every ``<!-- cli: COMMAND -->`` marker."""
    return _CLI.sub(lambda m: options_table(m.group(1)), markdown)
