"""plan(want, have, platform) -> the vendor lines that turn `have` into `want`. Pure.

Both intents are rendered by the platform into indented lines (one space per level; flat
`set`-style platforms have a single level), then compared as trees:

- a line only in `want` is sent inside its parents (entered, then left with the platform's
  exit line); a header sent this way brings its whole subtree;
- a line only in `have` is negated, unless `want` has a line with the same `key` in the same
  place (that line overwrites it), or an earlier removal already covers it (on IOS-like CLIs
  `no neighbor X remote-as N` removes every `neighbor X ...` line), or it is a header the
  platform cannot negate (then its children are negated one by one);
- removals go first, in reverse render order (references before the objects they name),
  then additions in render order (objects before references).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from .model import BgpIntent, PrefixRule

Ctx = tuple[str, ...]
Entry = tuple[Ctx, str]


class PlanError(ValueError):
    """The change cannot be planned safely (e.g. the device runs BGP with another ASN)."""


class Renderer(Protocol):
    exit_line: str | None
    seq_step: int

    def render(self, intent: BgpIntent) -> list[str]: ...
    def negate(self, line: str) -> str: ...
    def key(self, line: str) -> str: ...
    def covers(self, line: str) -> str | None: ...
    def negatable(self, line: str, whole: bool = False) -> bool: ...
    def encrypted(self, password: str) -> bool: ...


def flatten(lines: list[str]) -> list[tuple[Ctx, str, bool]]:
    """Indented lines → (parents, line, is_header) in order."""
    out: list[tuple[Ctx, str, bool]] = []
    stack: list[str] = []
    for raw in lines:
        depth = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        del stack[depth:]
        out.append((tuple(stack), line, False))
        stack.append(line)
    # A line is a header when the next line sits inside it.
    marked = []
    for i, (ctx, line, _) in enumerate(out):
        nxt = out[i + 1][0] if i + 1 < len(out) else ()
        marked.append((ctx, line, nxt[: len(ctx) + 1] == (*ctx, line)))
    return marked


def align(want: BgpIntent, have: BgpIntent, update_password: str = "always", *,
          seq_step: int = 5, encrypted: object = None) -> BgpIntent:  # fmt: skip
    """Fill what `want` leaves open from `have`, so unchanged things render identically:
    router ID and maximum-paths when unset, prefix-list sequence numbers of rules both have,
    and passwords the device shows only encrypted (unless update_password is 'always')."""
    router_id = want.router_id or have.router_id
    maximum_paths = want.maximum_paths if want.maximum_paths is not None else have.maximum_paths
    rules: list[PrefixRule] = []
    for family in ("ipv4", "ipv6"):
        existing = have.accept_for(family)
        top = max((r.seq for r in existing), default=0)
        for rule in want.accept_for(family):
            match = next((r for r in existing if r.same_rule(rule)), None)
            if match is not None:
                rules.append(replace(rule, seq=match.seq))
            else:
                top += seq_step
                rules.append(replace(rule, seq=top))
    have_pw = {n.address: n.password for n in have.neighbors}
    neighbors = []
    for n in want.neighbors:
        old = have_pw.get(n.address)
        is_hidden = callable(encrypted) and old is not None and encrypted(old)
        if n.password and is_hidden and update_password != "always":
            n = replace(n, password=old)
        neighbors.append(n)
    return replace(
        want,
        router_id=router_id,
        maximum_paths=maximum_paths,
        accept=tuple(rules),
        neighbors=tuple(neighbors),
    ).normalised()


def plan(want: BgpIntent, have: BgpIntent, platform: Renderer) -> list[str]:
    """The lines to send (empty when `have` already matches `want`)."""
    if have.asn and want.asn != have.asn:
        raise PlanError(
            f"asn: the device runs BGP as AS {have.asn}, not {want.asn}; refusing to change it"
        )
    w = flatten(platform.render(want))
    h = flatten(platform.render(have))
    return _emit(_removals(w, h, platform) + _additions(w, h), platform)


def revert_plan(before: BgpIntent, now: BgpIntent, platform: Renderer) -> list[str]:
    """The lines that put a partly changed device back to `before`; unlike `plan` it may remove
    the BGP process the failed change created (there was none before)."""
    w = flatten(platform.render(before))
    h = flatten(platform.render(now))
    whole = not before.asn
    return _emit(_removals(w, h, platform, whole) + _additions(w, h), platform)


def _additions(w: list[tuple[Ctx, str, bool]], h: list[tuple[Ctx, str, bool]]) -> list:
    have_set = {(c, line) for c, line, _ in h}
    added: list[tuple[Ctx, str, bool]] = []
    for ctx, line, header in w:
        if (ctx, line) in have_set:
            continue
        # Inside a header we are adding anyway: it is sent as part of that subtree.
        added.append((ctx, line, header))
    return added


def _removals(
    w: list, h: list, platform: Renderer, whole: bool = False
) -> list[tuple[Ctx, str, bool]]:
    want_set = {(c, line) for c, line, _ in w}
    want_keys = {(c, platform.key(line)) for c, line, _ in w}
    covered: list[tuple[Ctx, str]] = []  # (context prefix, line prefix) already removed
    gone: list[Ctx] = []  # subtrees removed by negating their header
    out: list[tuple[Ctx, str, bool]] = []
    for ctx, line, header in h:
        if (ctx, line) in want_set or (ctx, platform.key(line)) in want_keys:
            continue
        if any(ctx[: len(g)] == g for g in gone):
            continue
        if any(ctx[: len(c)] == c and line.startswith(p) for c, p in covered):
            continue
        if header and not platform.negatable(line, whole):
            continue  # its children are visited one by one
        out.append((ctx, platform.negate(line), False))
        if header:
            gone.append((*ctx, line))
        prefix = platform.covers(line)
        if prefix:
            covered.append((ctx, prefix))
    out.reverse()
    return out


def _emit(entries: list[tuple[Ctx, str, bool]], platform: Renderer) -> list[str]:
    lines: list[str] = []
    stack: list[str] = []
    for ctx, line, header in entries:
        common = 0
        while common < min(len(stack), len(ctx)) and stack[common] == ctx[common]:
            common += 1
        while len(stack) > common:
            stack.pop()
            if platform.exit_line:
                lines.append(" " * len(stack) + platform.exit_line)
        for part in ctx[common:]:
            lines.append(" " * len(stack) + part)
            stack.append(part)
        lines.append(" " * len(stack) + line)
        if header:
            stack.append(line)
    while stack:
        stack.pop()
        if platform.exit_line:
            lines.append(" " * len(stack) + platform.exit_line)
    return lines
