"""The serial-order checker on hand-made histories."""

from __future__ import annotations

from memspec.conformance.linearizability import Event, explain


def ev(
    op: str,
    start: int,
    end: int,
    written: tuple[str, ...] = (),
    observed: tuple[str, ...] | None = None,
) -> Event:
    return Event("s", op, written, observed, start, end)


def test_sequential_history_is_explained() -> None:
    history = [ev("store", 0, 1, ("a",)), ev("retrieve", 2, 3, observed=("a",)), ev("delete", 4, 5)]
    assert explain(history, {"s": None}) is None


def test_overlapping_writes_may_land_in_either_order() -> None:
    history = [ev("store", 0, 10, ("a",)), ev("store", 1, 9, ("b",))]
    assert explain(history, {"s": ("a",)}) is None
    assert explain(history, {"s": ("b",)}) is None
    assert explain(history, {"s": ("c",)}) is not None


def test_update_after_a_completed_delete_cannot_resurrect() -> None:
    history = [ev("store", 0, 1, ("a",)), ev("delete", 2, 3), ev("update", 4, 5, ("b",))]
    message = explain(history, {"s": ("b",)})
    assert message is not None and "no serial order" in message


def test_update_racing_delete_never_leaves_the_update() -> None:
    history = [ev("store", 0, 1, ("a",)), ev("delete", 2, 6), ev("update", 3, 5, ("b",))]
    assert explain(history, {"s": None}) is None
    assert explain(history, {"s": ("b",)}) is not None


def test_a_read_of_a_torn_write_is_caught() -> None:
    history = [
        ev("store", 0, 10, ("a1", "a2")),
        ev("store", 0, 10, ("b1", "b2")),
        ev("retrieve", 2, 3, observed=("a1", "b2")),
    ]
    assert explain(history, {"s": ("b1", "b2")}) is not None


def test_initial_state_is_honoured() -> None:
    assert (
        explain([ev("retrieve", 0, 1, observed=("x",))], {"s": ("x",)}, initial={"s": ("x",)})
        is None
    )


def test_out_of_budget_is_not_a_failure() -> None:
    wide = [ev("store", 0, 100, (str(i),)) for i in range(30)]
    assert explain(wide, {"s": ("nope",)}, budget=10) is None


def maybe(op: str, start: int, written: tuple[str, ...] = ()) -> Event:
    """A call that raised MemoryBackendError: its outcome is indeterminate (MM-ERR-002)."""
    return Event("s", op, written, None, start, start + 1, indeterminate=True)


def test_an_indeterminate_write_may_have_been_applied_or_not() -> None:
    history = [ev("store", 0, 1, ("a",)), maybe("store", 2, ("b",))]
    assert explain(history, {"s": ("a",)}) is None
    assert explain(history, {"s": ("b",)}) is None
    assert explain(history, {"s": ("c",)}) is not None


def test_an_indeterminate_write_may_land_after_calls_made_once_it_raised() -> None:
    # The server acts on a timed-out store after the client gave up and read the old value.
    history = [
        ev("store", 0, 1, ("a",)),
        maybe("store", 2, ("b",)),
        ev("retrieve", 10, 11, observed=("a",)),
        ev("retrieve", 20, 21, observed=("b",)),
    ]
    assert explain(history, {"s": ("b",)}) is None


def test_an_indeterminate_write_is_applied_whole_or_not_at_all() -> None:
    history = [ev("store", 0, 1, ("a1", "a2")), maybe("store", 2, ("b1", "b2"))]
    assert explain(history, {"s": ("a1", "b2")}) is not None


def test_an_indeterminate_write_cannot_act_before_it_was_called() -> None:
    history = [
        ev("retrieve", 0, 1, observed=("b",)),
        maybe("store", 5, ("b",)),
    ]
    assert explain(history, {"s": ("b",)}) is not None


def test_an_indeterminate_retrieve_observed_nothing() -> None:
    history = [ev("store", 0, 1, ("a",)), maybe("retrieve", 2)]
    assert explain(history, {"s": ("a",)}) is None
