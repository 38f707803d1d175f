"""LabelSelector.matches agrees with an independent implementation: the emulator's
query-syntax selectors, fed `to_query()` of the same selector."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.config.selectors import LabelSelector, Requirement, parse_selector
from ironlb.emulator.selectors import parse_label_selector

KEYS = st.sampled_from(["a", "b", "example.com/c"])
VALUES = st.sampled_from(["", "x", "y", "z"])
NONEMPTY = st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
    values = tuple(sorted(draw(NONEMPTY))) if op in ("In", "NotIn") else ()
    return Requirement(draw(KEYS), op, values)


selectors = st.builds(
    LabelSelector,
    st.dictionaries(KEYS, VALUES, max_size=2).map(lambda d: tuple(sorted(d.items()))),
    st.lists(requirements(), max_size=3, unique=True).map(tuple),
)
labels = st.dictionaries(KEYS, VALUES, max_size=3)


@settings(max_examples=400)
@given(selectors, labels)
def test_matches_agrees_with_query_syntax_oracle(sel: LabelSelector, lbls: dict[str, str]) -> None:
    oracle = parse_label_selector(sel.to_query())
    assert sel.matches(lbls) == all(r.matches(lbls) for r in oracle)


@given(selectors)
def test_to_dict_round_trips(sel: LabelSelector) -> None:
    assert parse_selector(sel.to_dict()) == sel
