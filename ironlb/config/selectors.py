"""Kubernetes label selectors (`matchLabels` + `matchExpressions`): parse and match.

Semantics follow metav1.LabelSelector: all terms are ANDed; an empty selector
matches everything; `In`/`NotIn` need at least one value, `Exists`/`DoesNotExist`
take none; `NotIn` and `DoesNotExist` match objects without the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ironlb.config.quoting import q

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN_RE = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


class SelectorError(ValueError):
    """A malformed selector: `field` is relative to the selector, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels  # DoesNotExist


@dataclass(frozen=True, slots=True)
class LabelSelector:
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels):
            return False
        return all(req.matches(labels) for req in self.match_expressions)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.match_labels:
            out["matchLabels"] = dict(self.match_labels)
        if self.match_expressions:
            out["matchExpressions"] = [
                {
                    "key": r.key,
                    "operator": r.operator,
                    **({"values": list(r.values)} if r.values else {}),
                }
                for r in self.match_expressions
            ]
        return out

    def to_query(self) -> str:
        """The selector in the API's query syntax (`a=1,b in (x,y),!c`), for list/watch."""
        terms = [f"{k}={v}" for k, v in self.match_labels]
        for r in self.match_expressions:
            if r.operator == "Exists":
                terms.append(r.key)
            elif r.operator == "DoesNotExist":
                terms.append(f"!{r.key}")
            else:
                op = "in" if r.operator == "In" else "notin"
                terms.append(f"{r.key} {op} ({','.join(r.values)})")
        return ",".join(terms)


EVERYTHING = LabelSelector()


def label_key_problem(key: Any) -> str | None:
    """Why `key` is not a valid label key (`[prefix/]name`), or None."""
    if not isinstance(key, str):
        return f"key must be a string, not {type(key).__name__}"
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        return f"key {q(key)}: prefix must not be empty"
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.match(prefix)):
        return f"key {q(key)}: prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        return (
            f"key {q(key)}: name must be 1-63 characters of alphanumerics, '-', '_' or '.',"
            " starting and ending with an alphanumeric"
        )
    return None


def label_value_problem(value: Any) -> str | None:
    """Why `value` is not a valid label value (may be empty), or None."""
    if not isinstance(value, str):
        return f"value must be a string, not {type(value).__name__}"
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        return (
            f"value {q(value)}: must be at most 63 characters of alphanumerics, '-', '_' or '.',"
            " starting and ending with an alphanumeric"
        )
    return None


def parse_selector(obj: Any) -> LabelSelector:
    """Validate a selector dict and return it as a `LabelSelector`; raise `SelectorError`."""
    if obj is None:
        return EVERYTHING
    if not isinstance(obj, Mapping):
        raise SelectorError("", f"must be an object, not {type(obj).__name__}")
    unknown = sorted(set(obj) - {"matchLabels", "matchExpressions"})
    if unknown:
        raise SelectorError(unknown[0], "unknown field")
    return LabelSelector(
        match_labels=_parse_match_labels(obj.get("matchLabels")),
        match_expressions=_parse_expressions(obj.get("matchExpressions")),
    )


def _parse_match_labels(raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise SelectorError("matchLabels", f"must be an object, not {type(raw).__name__}")
    for key, value in raw.items():
        problem = label_key_problem(key) or label_value_problem(value)
        if problem:
            raise SelectorError(f"matchLabels.{key}", problem)
    return tuple(sorted(raw.items()))


def _parse_expressions(raw: Any) -> tuple[Requirement, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SelectorError("matchExpressions", f"must be a list, not {type(raw).__name__}")
    reqs = [_parse_requirement(item, f"matchExpressions[{i}]") for i, item in enumerate(raw)]
    for i, req in enumerate(reqs):
        if req in reqs[:i]:
            raise SelectorError(f"matchExpressions[{i}]", "duplicate match expression")
    return tuple(reqs)


def _parse_requirement(item: Any, field: str) -> Requirement:
    if not isinstance(item, Mapping):
        raise SelectorError(field, f"must be an object, not {type(item).__name__}")
    problem = label_key_problem(item.get("key"))
    if problem:
        raise SelectorError(f"{field}.key", problem)
    op = item.get("operator")
    if op not in OPERATORS:
        raise SelectorError(
            f"{field}.operator", f"{q(op)} is not a valid operator (one of {', '.join(OPERATORS)})"
        )
    values = item.get("values") or []
    if not isinstance(values, list):
        raise SelectorError(f"{field}.values", f"must be a list, not {type(values).__name__}")
    if op in ("In", "NotIn") and not values:
        raise SelectorError(f"{field}.values", f"must be non-empty when operator is {op}")
    if op in ("Exists", "DoesNotExist") and values:
        raise SelectorError(f"{field}.values", f"must be empty when operator is {op}")
    for j, value in enumerate(values):
        problem = label_value_problem(value)
        if problem:
            raise SelectorError(f"{field}.values[{j}]", problem)
        if value in values[:j]:
            raise SelectorError(f"{field}.values[{j}]", f"duplicate value {q(value)}")
    return Requirement(key=item["key"], operator=op, values=tuple(sorted(values)))


def matches(
    selector: LabelSelector | Mapping[str, Any] | None, labels: Mapping[str, str] | None
) -> bool:
    """Whether `labels` satisfy `selector` (a `LabelSelector` or a selector dict).

    An empty selector matches everything; `None` matches nothing (metav1's nil
    selector). A malformed selector dict raises `SelectorError`.
    """
    if selector is None:
        return False
    sel = selector if isinstance(selector, LabelSelector) else parse_selector(selector)
    return sel.matches(labels or {})


def matches_any(selectors: tuple[LabelSelector, ...], labels: Mapping[str, str] | None) -> bool:
    """MetalLB's list-of-selectors rule: an empty list selects everything, else any match."""
    return not selectors or any(s.matches(labels or {}) for s in selectors)
