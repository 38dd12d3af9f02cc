"""The memspec conformance suite."""

from __future__ import annotations

__all__: list[str] = []
