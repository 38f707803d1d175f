"""Label and field selectors in the query-string syntax the real server parses.

Label: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`.
Field: `path=value`, `path==value`, `path!=value` over a kind's supported field paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ironlb.emulator.errors import ApiError, bad_request

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*")
_CMP_RE = re.compile(rf"\s*({_KEY})\s*(==|=|!=|>|<)\s*({_VALUE})?\s*")
_EXISTS_RE = re.compile(rf"\s*(!?)\s*({_KEY})\s*")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # =, !=, in, notin, exists, !exists, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!exists":
            return not has
        if not has or value is None:
            return False
        try:
            number, bound = int(value), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.op == "gt" else number < bound


def parse_label_selector(text: str) -> list[Requirement]:
    reqs: list[Requirement] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        req, pos = _parse_one(text, pos)
        reqs.append(req)
        if pos < len(text):
            if text[pos] != ",":
                raise _bad_label(text)
            pos += 1
    return reqs


def _parse_one(text: str, pos: int) -> tuple[Requirement, int]:
    m = _SET_RE.match(text, pos)
    if m:
        values = tuple(v.strip() for v in m.group(4).split(",") if v.strip())
        return Requirement(m.group(1), m.group(3), values), m.end()
    m = _CMP_RE.match(text, pos)
    if m:
        op = {"==": "=", ">": "gt", "<": "lt"}.get(m.group(3), m.group(3))
        return Requirement(m.group(1), op, (m.group(4) or "",)), m.end()
    m = _EXISTS_RE.match(text, pos)
    if m and (m.end() == len(text) or text[m.end()] == ","):
        return Requirement(m.group(2), "!exists" if m.group(1) else "exists"), m.end()
    raise _bad_label(text)


def _bad_label(text: str) -> ApiError:
    return bad_request(f"unable to parse requirement: invalid label selector: {text!r}")


def label_matcher(text: str | None) -> Callable[[dict[str, Any]], bool]:
    if not text:
        return lambda obj: True
    reqs = parse_label_selector(text)

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


def parse_field_selector(text: str) -> list[tuple[str, str, str]]:
    terms: list[tuple[str, str, str]] = []
    for raw in _split_unescaped(text):
        if not raw.strip():
            continue
        for op in ("!=", "==", "="):
            if op in raw:
                path, value = raw.split(op, 1)
                terms.append((path.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{raw}'")
    return terms


def _split_unescaped(text: str) -> list[str]:
    parts, cur, escaped = [], "", False
    for ch in text:
        if escaped:
            cur += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict) and path == "source":
        return str(cur.get("component", ""))
    return str(cur)


def field_matcher(
    text: str | None, supported: tuple[str, ...], kind: str, version: str
) -> Callable[[dict[str, Any]], bool]:
    if not text:
        return lambda obj: True
    terms = parse_field_selector(text)
    for path, _op, _value in terms:
        if path not in supported:
            raise bad_request(f"field label not supported: {path}")

    def match(obj: dict[str, Any]) -> bool:
        for path, op, value in terms:
            actual = field_value(obj, path)
            if (actual == value) != (op == "="):
                return False
        return True

    return match
