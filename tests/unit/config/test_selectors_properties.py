"""LabelSelector.matches agrees with the real kube-apiserver: every label combination of a
small alphabet is a ConfigMap, and the server lists those matching `to_query()` of the same
selector (the query syntax the controller's list/watch calls use)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironlb.config.selectors import LabelSelector, Requirement, parse_selector
from ironlb.kube.client import CONFIGMAPS, Kube

KEY_NAMES = ["a", "b", "example.com/c"]
VALUE_NAMES = ["", "x", "y", "z"]
KEYS = st.sampled_from(KEY_NAMES)
VALUES = st.sampled_from(VALUE_NAMES)
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


def every_label_set() -> dict[str, dict[str, str]]:
    """Each key absent or holding each value: 5**3 label sets, by object name."""
    out = {}
    choices = [None, *VALUE_NAMES]
    for i, combo in enumerate(itertools.product(choices, repeat=len(KEY_NAMES))):
        out[f"l{i:03d}"] = {k: v for k, v in zip(KEY_NAMES, combo, strict=True) if v is not None}
    return out


@pytest.fixture
def selector_objects(
    apiserver: Any, kube_namespace: str
) -> tuple[Kube, str, dict[str, dict[str, str]]]:
    kube = Kube(apiserver.api_client())
    label_sets = every_label_set()
    for name, labels in label_sets.items():
        meta = {"name": name, "namespace": kube_namespace, "labels": labels}
        kube.create(CONFIGMAPS, {"metadata": meta})
    return kube, kube_namespace, label_sets


@settings(
    max_examples=300,
    deadline=None,  # each example is an API round trip
    # the fixtures are read-only for every example: the objects are made once
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sel=selectors)
def test_matches_agrees_with_the_apiserver(
    sel: LabelSelector, selector_objects: tuple[Kube, str, dict[str, dict[str, str]]]
) -> None:
    kube, ns, label_sets = selector_objects
    listed = kube.list(CONFIGMAPS, ns, label_selector=sel.to_query())["items"]
    served = {o["metadata"]["name"] for o in listed}
    mine = {name for name, labels in label_sets.items() if sel.matches(labels)}
    assert mine == served, sel.to_query()


@given(selectors)
def test_to_dict_round_trips(sel: LabelSelector) -> None:
    assert parse_selector(sel.to_dict()) == sel
