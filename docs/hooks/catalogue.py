"""mkdocs hook: fill the specification pages from the catalogue and the schema files.

``<!-- catalogue: AREA -->`` in a page becomes every active requirement of that area, each a
heading anchored at its ID (``#MM-TTL-002``) with its level, profile, statement and rationale.
``<!-- schema: NAME -->`` becomes the checked-in schema file. The catalogue is the single
source: nothing here or in the pages copies it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import memspec
from memspec.catalogue import Area
from memspec.schemas import load_schema

_CATALOGUE = re.compile(r"<!--\s*catalogue:\s*([a-z-]+)\s*-->")
_SCHEMA = re.compile(r"<!--\s*schema:\s*([a-z-]+)\s*-->")


def _requirements(area: str) -> str:
    wanted = Area(area)
    blocks = []
    for requirement in memspec.catalogue():
        if requirement.area is not wanted:
            continue
        checked = (
            " · checked by implementations" if requirement.scope.value == "implementation" else ""
        )
        needs = ", ".join(f"[{p}](#{p})" for p in requirement.prerequisites)
        judged = f"\n\n*Judged only while* {needs} *hold.*" if needs else ""
        blocks.append(
            f"### {requirement.id} {{#{requirement.id}}}\n\n"
            f"**{requirement.level.value}** · profile `{requirement.profile.value}`{checked}"
            f"\n\n{requirement.statement}\n\n*Why:* {requirement.rationale}{judged}\n"
        )
    if not blocks:
        raise ValueError(f"no requirements in area {area!r}")
    return "\n".join(blocks)


def _schema(name: str) -> str:
    return "```json\n" + json.dumps(load_schema(name), indent=2, ensure_ascii=False) + "\n```"


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the markers in every page."""
    markdown = _CATALOGUE.sub(lambda m: _requirements(m.group(1)), markdown)
    return _SCHEMA.sub(lambda m: _schema(m.group(1)), markdown)
