"""The import tree: ``build/memspec-tree/memspec`` laid out the way the package is imported.

setuptools maps ``memspec`` to ``spec/``, ``memspec.reference`` to ``reference/`` and
``memspec.conformance`` to ``conformance/``; mypy and mkdocstrings cannot follow that mapping
through an editable install, so they read this tree of links instead. As an mkdocs hook it is
laid before every build (``mkdocs build`` and ``mkdocs serve`` work in a fresh clone with no
other step); ``make typecheck`` runs this file as a script.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TREE = ROOT / "build" / "memspec-tree"

#: Where each part of the package lives: import path below ``memspec`` -> source folder.
LAYOUT = {"": "spec", "reference": "reference", "conformance": "conformance"}


def _link(path: Path, link: Path) -> None:
    """Make ``link`` a link to ``path``, unless it already is one (another build may be
    laying the same tree at the same time: nothing here removes what is right)."""
    if link.is_symlink() and link.readlink() == path:
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        link.symlink_to(path)
    except FileExistsError:
        if link.readlink() != path:
            raise


def lay_tree(root: Path = ROOT) -> Path:
    """Bring the tree up to date with the sources (files added or removed since it was last
    laid are seen) and return the folder to put on the search path."""
    tree = root / "build" / "memspec-tree"
    wanted: set[Path] = set()
    for below, folder in LAYOUT.items():
        source = root / folder
        target = tree / "memspec" / below if below else tree / "memspec"
        for path in source.rglob("*"):
            if "__pycache__" in path.parts or path.is_dir():
                continue
            link = target / path.relative_to(source)
            wanted.add(link)
            _link(path, link)
    for stale in tree.rglob("*"):
        if stale.is_symlink() and stale not in wanted:
            stale.unlink(missing_ok=True)
    return tree


def on_startup(**_: Any) -> None:
    """Lay the tree once mkdocs starts, before any plugin (mkdocstrings) reads its config."""
    lay_tree()


def on_config(config: Any, **_: Any) -> Any:
    """Lay it again before every build, so ``mkdocs serve`` sees files added meanwhile."""
    lay_tree()
    return config


if __name__ == "__main__":
    laid = lay_tree()
    if "-q" not in sys.argv[1:]:
        print(laid)
