"""Every pair in the collision table collides under the hash and key format it names."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable

import pytest
from corpus.realistic import _fnv1a_32, _java_hash_code
from memspec.conformance.collisions import COLLISIONS, Collision


def _fnv1_32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value * 0x01000193) & 0xFFFFFFFF) ^ byte
    return value


HASHES: dict[str, Callable[[str], object]] = {
    "crc32": lambda text: zlib.crc32(text.encode("utf-8")),
    "java-hashcode": _java_hash_code,
    "fnv1a-32": lambda text: _fnv1a_32(text.encode("utf-8")),
    "fnv1-32": _fnv1_32,
    "sha256[:8]": lambda text: hashlib.sha256(text.encode("utf-8")).hexdigest()[:8],
    "md5[:8]": lambda text: hashlib.md5(text.encode("utf-8")).hexdigest()[:8],
    "sha1[:8]": lambda text: hashlib.sha1(text.encode("utf-8")).hexdigest()[:8],
}

#: Formats that "any, around the ID" stands for: equal-length pairs of CRC-32 and hashCode
#: collide under any common prefix and suffix.
_AROUND = (
    "{c}",
    "WORKING_MEMORY:{c}",
    "{c}:WORKING_MEMORY",
    "memory:WORKING_MEMORY:{c}",
    "WORKING_MEMORY_{c}",
)


def _formats(collision: Collision) -> tuple[str, ...]:
    return _AROUND if collision.key_format.startswith("any") else (collision.key_format,)


@pytest.mark.parametrize(
    "collision", COLLISIONS, ids=lambda c: f"{c.hash}-{c.key_format}-{c.first}"
)
def test_each_pair_collides_under_its_hash(collision: Collision) -> None:
    digest = HASHES[collision.hash]
    assert collision.first != collision.second
    for key_format in _formats(collision):
        first = digest(key_format.format(c=collision.first))
        second = digest(key_format.format(c=collision.second))
        assert first == second, (collision, key_format)


def test_every_hash_the_table_names_is_recomputed_here() -> None:
    assert {c.hash for c in COLLISIONS} == set(HASHES)
