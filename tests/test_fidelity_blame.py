"""The state machine blames a fidelity failure on the items that did not come back."""

from __future__ import annotations

import pytest
from memspec.conformance.state_machine import _fidelity

BIG = "é" * (1 << 20)  # 2 MiB of UTF-8


@pytest.mark.parametrize(
    ("expected", "got", "blamed"),
    [
        # A large item came back exactly; an empty one was dropped: only MM-FID-001's witness.
        (["", "x\x00", BIG], ["x\x00", BIG], ("MM-FID-001",)),
        # The large item was cut: MM-FID-004's.
        (["\x00", BIG], ["\x00", BIG[:100]], ("MM-FID-004",)),
        # Both lost: the witness contradicts both.
        ([" a ", BIG], [], ("MM-FID-001", "MM-FID-004")),
        # Nothing lost, order changed: the largest item written decides.
        (["\x00", BIG], [BIG, "\x00"], ("MM-FID-004",)),
        (["\x00", " "], [" ", "\x00"], ("MM-FID-001",)),
    ],
    ids=["small-lost", "large-cut", "both-lost", "reordered-large", "reordered-small"],
)
def test_fidelity_blames_what_did_not_come_back(
    expected: list[str], got: list[str], blamed: tuple[str, ...]
) -> None:
    assert _fidelity(expected, got) == blamed
