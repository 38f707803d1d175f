"""`ironlb validate FILE...`: offline validation of metallb.io manifests.

Files, directories (every *.yaml, *.yml and *.json below them) and `-` (stdin) are
read as multi-document YAML the way Kubernetes reads it; `kind: List` documents
are expanded. All objects are checked together, so a pool in one file and its
advertisement in another resolve. Output: `OK file: N objects` per clean file, or
one `file:line: Kind namespace/name: field: reason` line per error.
Exit 0 when valid, 1 on configuration errors, 2 when a file is unreadable or is
not YAML.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ironlb.config.model import ConfigError
from ironlb.config.parse import is_metallb, parse_object_errors
from ironlb.config.validate import build_config
from ironlb.yamlio import KubeSafeLoader

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "validate",
        help="validate metallb.io manifests offline",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="FILE", help="file, directory or - for stdin")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    parser.set_defaults(func=run)


@dataclass(slots=True)
class Doc:
    source: str
    line: int  # 1-based line where the object starts
    obj: Any
    node: yaml.Node | None = None  # for finding the line of a field

    def line_of(self, field_path: str) -> int:
        """The line of the deepest part of `field_path` present in the YAML (else the object's)."""
        node, line = self.node, self.line
        tokens = [t for t in re.split(r"\.|\[(\d+)\]", field_path) if t]
        i = 0
        while node is not None and i < len(tokens):
            node, used = _child(node, tokens, i)
            if node is None:
                break
            line, i = node.start_mark.line + 1, i + used
        return line


def _child(node: yaml.Node, tokens: list[str], i: int) -> tuple[yaml.Node | None, int]:
    if isinstance(node, yaml.SequenceNode) and tokens[i].isdigit():
        index = int(tokens[i])
        return (node.value[index], 1) if index < len(node.value) else (None, 0)
    if isinstance(node, yaml.MappingNode):
        # Label keys contain dots (example.com/zone): try the longest joined key first.
        for used in range(len(tokens) - i, 0, -1):
            key = ".".join(tokens[i : i + used])
            for k, v in node.value:
                if k.value == key:
                    return v, used
    return None, 0


@dataclass(slots=True)
class Report:
    lines: list[str] = field(default_factory=list)
    exit_code: int = 0

    def fail(self, code: int, line: str) -> None:
        self.lines.append(line)
        self.exit_code = max(self.exit_code, code)


class SourceError(Exception):
    """A file that cannot be read or parsed; the message names file and line."""


def expand_paths(paths: list[str]) -> Iterator[str]:
    for path in paths:
        p = Path(path)
        if path != STDIN and p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file())
            if not found:
                raise SourceError(f"{path}: no *.yaml, *.yml or *.json files")
            yield from (str(f) for f in found)
        else:
            yield path


def read_source(path: str) -> str:
    try:
        return sys.stdin.read() if path == STDIN else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{display(path)}: cannot read: {exc}") from None


def display(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def load_docs(source: str, text: str) -> list[Doc]:
    """Every non-empty document with its first line; raises SourceError on bad YAML."""
    loader = KubeSafeLoader(text)
    docs: list[Doc] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            obj = loader.construct_document(node)
            line = node.start_mark.line + 1
            if obj is None:
                continue
            docs.extend(_expand_list(source, line, obj, node))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceError(f"{display(source)}{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()
    return docs


def _expand_list(source: str, line: int, obj: Any, node: yaml.Node) -> list[Doc]:
    if isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        item_nodes = _items_nodes(node)
        return [
            Doc(source, n.start_mark.line + 1 if n else line, item, n)
            for item, n in zip(obj["items"], item_nodes, strict=False)
        ]
    return [Doc(source, line, obj, node)]


def _items_nodes(node: yaml.Node) -> list[yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == "items" and isinstance(v, yaml.SequenceNode):
                return list(v.value)
    return []


def _key(obj: Any) -> tuple[str, str, str]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    kind = obj.get("kind") if isinstance(obj, dict) else None
    return (str(kind or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def check(docs: list[Doc], files: list[str], quiet: bool = False) -> Report:
    """Validate documents from `files` together and report per file."""
    report = Report()
    per_file: dict[str, list[str]] = {f: [] for f in files}
    counts: dict[str, int] = dict.fromkeys(files, 0)
    skipped: dict[str, int] = dict.fromkeys(files, 0)
    where: dict[tuple[str, str, str], list[Doc]] = {}
    seen: set[ConfigError] = set()
    for doc in docs:
        counts[doc.source] += 1
        if not is_metallb(doc.obj):
            skipped[doc.source] += 1
            kind, ns, name = _key(doc.obj)
            api = doc.obj.get("apiVersion", "?") if isinstance(doc.obj, dict) else "?"
            if not isinstance(doc.obj, dict):
                per_file[doc.source].append(f"{_loc(doc)}: document is not an object")
            elif not quiet:
                who = f"{ns}/{name}" if ns else name
                report.lines.append(f"SKIP {_loc(doc)}: {api} {kind} {who} (not metallb.io)")
            continue
        where.setdefault(_key(doc.obj), []).append(doc)
        for err in parse_object_errors(doc.obj)[1]:
            seen.add(err)
            per_file[doc.source].append(f"{_loc(doc, err.field)}: {err}")
    result = build_config(d.obj for d in docs if isinstance(d.obj, dict))
    for err in result.errors:
        if err in seen:
            continue
        docs_for = where.get((err.kind, err.namespace, err.name))
        if not docs_for:  # cannot happen for cross-object errors; never lose one
            report.fail(1, str(err))
            continue
        # A duplicate-name error belongs to the later definition.
        doc = docs_for[-1] if err.reason.startswith("duplicate ") else docs_for[0]
        per_file[doc.source].append(f"{_loc(doc, err.field)}: {err}")
    for f in files:
        if per_file[f]:
            for line in per_file[f]:
                report.fail(1, line)
        elif not quiet:
            extra = f" ({skipped[f]} skipped, not metallb.io)" if skipped[f] else ""
            report.lines.append(f"OK {display(f)}: {counts[f]} objects{extra}")
    return report


def _loc(doc: Doc, field_path: str = "") -> str:
    return f"{display(doc.source)}:{doc.line_of(field_path)}"


def validate_paths(paths: list[str], quiet: bool = False) -> Report:
    report = Report()
    docs: list[Doc] = []
    files: list[str] = []
    try:
        expanded = list(expand_paths(paths))
    except SourceError as exc:
        report.fail(2, f"ERROR {exc}")
        return report
    for path in expanded:
        try:
            docs.extend(load_docs(path, read_source(path)))
        except SourceError as exc:
            report.fail(2, f"ERROR {exc}")
            continue
        files.append(path)
    checked = check(docs, files, quiet)
    report.lines.extend(checked.lines)
    report.exit_code = max(report.exit_code, checked.exit_code)
    errors = sum(1 for line in report.lines if not line.startswith(("OK ", "SKIP ")))
    if report.exit_code:
        report.lines.append(f"{errors} error(s) in {len(expanded)} file(s)")
    return report


def run(args: argparse.Namespace) -> int:
    report = validate_paths(args.paths, args.quiet)
    for line in report.lines:
        print(line)
    return report.exit_code
