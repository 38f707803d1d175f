"""Community strings stay strings; ordinary numbers stay numbers."""

from __future__ import annotations

from ironlb.yamlio import load, load_all


def test_community_is_not_base60() -> None:
    assert load("c: 64512:7") == {"c": "64512:7"}
    assert load("c: [65535:65282, large:1:2:3]") == {"c": ["65535:65282", "large:1:2:3"]}


def test_numbers_still_numbers() -> None:
    assert load("a: 64512\nb: 1.5\nc: 0x10\nd: -3") == {"a": 64512, "b": 1.5, "c": 16, "d": -3}


def test_load_all_documents() -> None:
    assert list(load_all("a: 1\n---\nb: 1:2\n")) == [{"a": 1}, {"b": "1:2"}]
