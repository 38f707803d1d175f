"""Label selector parsing and matching (metav1.LabelSelector semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from ironlb.config import matches
from ironlb.config.selectors import SelectorError, matches_any, parse_selector


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        ({}, {"a": "1"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchLabels": {"a": ""}}, {"a": ""}, True),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]},
            {"a": "2"},
            True,
        ),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {"a": "1"},
            False,
        ),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "x"}, False),
        (
            {
                "matchLabels": {"zone": "x"},
                "matchExpressions": [{"key": "node-role.kubernetes.io/edge", "operator": "Exists"}],
            },
            {"zone": "x"},
            False,
        ),
    ],
)
def test_matches(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert matches(selector, labels) is expected
    assert matches(parse_selector(selector), labels) is expected


def test_none_selector_matches_nothing_and_empty_list_everything() -> None:
    assert matches(None, {"a": "1"}) is False
    assert matches_any((), {"a": "1"}) is True


EQ = {"key": "a", "operator": "Equals", "values": ["1"]}
EX1 = {"key": "a", "operator": "Exists", "values": ["1"]}
DUP = {"key": "a", "operator": "In", "values": ["x", "x"]}


@pytest.mark.parametrize(
    ("selector", "field"),
    [
        ({"matchExpressions": [EQ]}, "matchExpressions[0].operator"),
        ({"matchExpressions": [{"key": "a", "operator": "In"}]}, "matchExpressions[0].values"),
        ({"matchExpressions": [EX1]}, "matchExpressions[0].values"),
        ({"matchExpressions": [{"key": "-a", "operator": "Exists"}]}, "matchExpressions[0].key"),
        ({"matchExpressions": [DUP]}, "matchExpressions[0].values[1]"),
        ({"matchLabels": {"a": "bad value"}}, "matchLabels.a"),
        ({"matchLabels": {"Example.com/a": "1"}}, "matchLabels.Example.com/a"),
        ({"matchLabels": {"a" * 64: "1"}}, "matchLabels." + "a" * 64),
        ({"matchLabel": {"a": "1"}}, "matchLabel"),
        ({"matchLabels": ["a"]}, "matchLabels"),
    ],
)
def test_invalid_selectors(selector: dict[str, Any], field: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector(selector)
    assert info.value.field == field
