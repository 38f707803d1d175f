"""IntervalSet against a plain Python set as the model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.ipranges import IntervalSet

ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove"]),
        st.integers(0, 60),
        st.integers(0, 6),
    ),
    max_size=40,
)


def _model_intervals(model: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for x in sorted(model):
        if out and out[-1][1] == x - 1:
            out[-1] = (out[-1][0], x)
        else:
            out.append((x, x))
    return out


@settings(max_examples=300, deadline=None)
@given(ops, st.integers(0, 70), st.integers(0, 70))
def test_matches_set_model(steps: list[tuple[str, int, int]], lo: int, span: int) -> None:
    s = IntervalSet()
    model: set[int] = set()
    for op, start, length in steps:
        if op == "add":
            s.add(start, start + length)
            model |= set(range(start, start + length + 1))
        else:
            s.remove(start, start + length)
            model -= set(range(start, start + length + 1))
    assert list(s) == _model_intervals(model)
    assert s.count == len(model)
    hi = lo + span
    window = range(lo, hi + 1)
    free = [x for x in window if x not in model]
    used = [x for x in window if x in model]
    assert s.first_free_in(lo, hi) == (free[0] if free else None)
    assert s.first_in(lo, hi) == (used[0] if used else None)
    assert s.count_in(lo, hi) == len(used)
    assert s.covers(lo, hi) == (not free)
    for x in window:
        assert (x in s) == (x in model)


def test_adjacent_intervals_merge() -> None:
    s = IntervalSet([(1, 3), (5, 7)])
    assert s.runs == 2
    s.add(4)
    assert list(s) == [(1, 7)]
    assert s.runs == 1


def test_remove_splits() -> None:
    s = IntervalSet([(0, 9)])
    s.remove(4, 5)
    assert list(s) == [(0, 3), (6, 9)]
    assert s.count == 8


def test_huge_ranges_cost_one_run() -> None:
    s = IntervalSet()
    s.add(0, 2**128 - 1)
    assert s.count == 2**128
    assert s.runs == 1
    s.remove(2**64)
    assert s.runs == 2
    assert s.first_free_in(0, 2**128 - 1) == 2**64


def test_first_free_skips_runs() -> None:
    s = IntervalSet([(10, 20), (22, 30)])
    assert s.first_free_in(10, 40) == 21
    assert s.first_free_in(22, 30) is None
    assert s.first_free_in(5, 9) == 5


def test_empty_interval_rejected() -> None:
    with pytest.raises(ValueError, match="empty interval"):
        IntervalSet().add(5, 4)


def test_equality_and_copy() -> None:
    a = IntervalSet([(1, 2)])
    b = a.copy()
    assert a == b
    b.add(9)
    assert a != b
