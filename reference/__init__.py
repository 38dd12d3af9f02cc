"""Reference implementations of the memspec contract."""

from __future__ import annotations

__all__: list[str] = []
