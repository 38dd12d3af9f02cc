"""A plain manager over Django's cache framework, as a Django team would write one: the
``DatabaseCache`` backend on SQLite, configured when this module is imported.

Django's ORM refuses to run in a thread where an event loop runs
(``SynchronousOnlyOperation``); its users call it from plain threads, and so must the suite.
Importing this module configures Django settings for the process (a temporary SQLite file and
one cache table), so it is imported only by the test that certifies it.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import django
from django.conf import settings
from django.core.management import call_command
from django.db import connections

_DIRECTORY = Path(tempfile.mkdtemp(prefix="memspec-django-"))

if not settings.configured:
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(_DIRECTORY / "cache.sqlite3"),
                "OPTIONS": {"timeout": 20},
            }
        },
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "memspec_cache",
                "OPTIONS": {"MAX_ENTRIES": 1_000_000},
            }
        },
        USE_TZ=True,
    )
    django.setup()
    call_command("createcachetable", verbosity=0)
    connections.close_all()

from django.core.cache import cache  # noqa: E402 - needs the settings above

_TYPES = ("WORKING_MEMORY", "SHORT_TERM_MEMORY", "LONG_TERM_MEMORY")


def _field(value: Any, name: str, default: Any = None) -> Any:
    if isinstance(value, Mapping):
        return value.get(name, default)
    return getattr(value, name, default)


class DjangoDatabaseCacheManager:
    """Each slot is one cache entry, ``cache.set`` with the manager's ttl as its timeout. An
    update reads the entry and writes it back if it is there: Django's cache has no atomic
    replace, so an update racing a delete may bring a slot back (a real limit of the
    combination, which certification reports)."""

    def __init__(self, ttl: Any = 43200, *, namespace: str | None = None) -> None:
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int | float):
                raise TypeError(f"ttl must be a number of seconds or None, not {ttl!r}")
            if not 0 < ttl < math.inf or ttl > 10 * 365 * 86400:
                raise ValueError(f"ttl must be positive and at most ten years, not {ttl!r}")
        self.ttl = ttl
        #: Keys are prefixed with it: managers built without one share nothing.
        self.namespace = namespace or uuid.uuid4().hex

    @staticmethod
    def _slot(input: Any) -> tuple[str, str]:
        conversation_id = _field(input, "conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValueError("conversation_id must be a non-empty string")
        memory_type = _field(input, "memory_type") or "WORKING_MEMORY"
        memory_type = getattr(memory_type, "value", memory_type)
        if memory_type not in _TYPES:
            raise ValueError(f"unknown memory_type {memory_type!r}")
        return conversation_id, memory_type

    def _key(self, conversation_id: str, memory_type: str) -> str:
        raw = json.dumps([memory_type, conversation_id]).encode("utf-8", "surrogatepass")
        return f"memspec:{self.namespace}:{hashlib.sha256(raw).hexdigest()}"

    @staticmethod
    def _texts(input: Any) -> list[str]:
        data = _field(input, "data")
        if not isinstance(data, list) or not data:
            raise ValueError("data must be a non-empty list of items")
        texts = [_field(item, "working_memory") for item in data]
        if not all(isinstance(text, str) for text in texts):
            raise TypeError("every item's working_memory must be a string")
        return texts

    def _write(self, slot: tuple[str, str], texts: list[str]) -> None:
        value = json.dumps({"id": slot[0], "items": texts}, ensure_ascii=True)
        value.encode("utf-8")  # a lone surrogate is refused here, before anything is written
        cache.set(self._key(*slot), value, timeout=self.ttl)

    def _read(self, slot: tuple[str, str]) -> list[str] | None:
        raw = cache.get(self._key(*slot))
        if raw is None:
            return None
        record = json.loads(raw)
        return list(record["items"]) if record["id"] == slot[0] else None

    def store(self, input: Any) -> str:
        slot, texts = self._slot(input), self._texts(input)
        self._write(slot, texts)
        return self._key(*slot)

    def retrieve(self, input: Any) -> list[Any]:
        texts = self._read(self._slot(input)) or []
        return [SimpleNamespace(working_memory=text) for text in texts]

    def update(self, input: Any) -> None:
        slot, texts = self._slot(input), self._texts(input)
        if self._read(slot) is not None:
            self._write(slot, texts)

    def delete(self, input: Any) -> None:
        cache.delete(self._key(*self._slot(input)))

    def close(self) -> None:
        connections.close_all()

    @classmethod
    def memspec_reopen(cls, manager: DjangoDatabaseCacheManager) -> DjangoDatabaseCacheManager:
        """A second manager over the same cache table and namespace."""
        return cls(manager.ttl, namespace=manager.namespace)
