"""Known colliding conversation IDs for the short hashes careless key schemes use.

A manager that keys slots by a 32-bit hash of the ID (CRC-32, FNV-1 or FNV-1a, Java's
``String.hashCode``, the first 8 hex digits of a digest) merges two conversations whose
hashes are equal. Each pair below collides under its hash for the key format named, found
by a birthday search; CRC-32 and ``hashCode`` pairs are of equal length, which makes them
collide under every common prefix and suffix too, so any key format built around the ID
keeps them colliding. ``tests/test_collisions.py`` recomputes every pair.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["COLLISIONS", "Collision"]


class Collision(NamedTuple):
    """Two conversation IDs whose keys collide under ``hash`` when keyed as ``key_format``."""

    hash: str
    key_format: str
    first: str
    second: str


#: Every known colliding pair, for the isolation checks.
COLLISIONS: tuple[Collision, ...] = (
    Collision("crc32", "any, around the ID", "conv-108ddf9", "conv-3008894"),
    Collision("java-hashcode", "any, around the ID", "conv-Aa", "conv-BB"),
    Collision("java-hashcode", "any, around the ID", "conv-AaAa", "conv-BBBB"),
    Collision("fnv1a-32", "{c}", "conv-00695b", "conv-0418c8"),
    Collision("fnv1a-32", "WORKING_MEMORY:{c}", "conv-0418cc", "conv-0bec18"),
    Collision("fnv1a-32", "{c}:WORKING_MEMORY", "conv-00695b", "conv-0418c8"),
    Collision("fnv1a-32", "memory:WORKING_MEMORY:{c}", "conv-0339ff", "conv-078880"),
    Collision("fnv1a-32", "WORKING_MEMORY_{c}", "conv-05997b", "conv-0928a8"),
    Collision("fnv1-32", "{c}", "conv-0238ab", "conv-068978"),
    Collision("fnv1-32", "WORKING_MEMORY:{c}", "conv-01d18d", "conv-0d7038"),
    Collision("fnv1-32", "{c}:WORKING_MEMORY", "conv-0238ab", "conv-068978"),
    Collision("fnv1-32", "memory:WORKING_MEMORY:{c}", "conv-03b6cf", "conv-0ae828"),
    Collision("fnv1-32", "WORKING_MEMORY_{c}", "conv-0189bb", "conv-053848"),
    Collision("sha256[:8]", "{c}", "conv-011fd9", "conv-01c005"),
    Collision("sha256[:8]", "WORKING_MEMORY:{c}", "conv-011584", "conv-01d0ab"),
    Collision("sha256[:8]", "{c}:WORKING_MEMORY", "conv-01249a", "conv-015813"),
    Collision("sha256[:8]", "memory:WORKING_MEMORY:{c}", "conv-007d6c", "conv-008de4"),
    Collision("sha256[:8]", "WORKING_MEMORY_{c}", "conv-00a6e0", "conv-00aaca"),
    Collision("md5[:8]", "{c}", "conv-00d61c", "conv-02b820"),
    Collision("md5[:8]", "WORKING_MEMORY:{c}", "conv-008ef8", "conv-0117f1"),
    Collision("md5[:8]", "{c}:WORKING_MEMORY", "conv-005792", "conv-0183a6"),
    Collision("md5[:8]", "memory:WORKING_MEMORY:{c}", "conv-001a25", "conv-00b097"),
    Collision("md5[:8]", "WORKING_MEMORY_{c}", "conv-01c07f", "conv-02c8df"),
    Collision("sha1[:8]", "{c}", "conv-013233", "conv-01a410"),
    Collision("sha1[:8]", "WORKING_MEMORY:{c}", "conv-009bdf", "conv-01462b"),
    Collision("sha1[:8]", "{c}:WORKING_MEMORY", "conv-001387", "conv-00415e"),
    Collision("sha1[:8]", "memory:WORKING_MEMORY:{c}", "conv-017032", "conv-01c5b0"),
    Collision("sha1[:8]", "WORKING_MEMORY_{c}", "conv-006a45", "conv-011a9a"),
)
