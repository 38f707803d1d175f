"""Doctor output: grouped by severity for people (colour on a terminal), JSON for machines."""

from __future__ import annotations

import json
from typing import TextIO

from rich.console import Console

from ironlb.doctor.findings import Report, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render_json(report: Report, out: TextIO) -> None:
    json.dump(report.to_json(), out, indent=2)
    out.write("\n")


def render_text(report: Report, out: TextIO) -> None:
    # soft_wrap: long fix commands stay on one line, so they can be copied as they are.
    console = Console(file=out, highlight=False, soft_wrap=True)
    if not report.findings:
        checks = len(report.checked)
        console.print(f"[green]No problems found[/] ({checks} checks, {report.source}).")
        return
    for severity, findings in report.by_severity():
        console.print(f"[{_STYLE[severity]}]{severity.name} ({len(findings)})[/]")
        for f in findings:
            console.print(f"  [{_STYLE[severity]}]●[/] [bold]{f.title}[/]  [dim]{f.code}[/]")
            for obj in f.objects:
                console.print(f"      object: {obj}", markup=False)
            console.print(f"      why:    {f.why}", markup=False)
            if f.fix:
                console.print(f"      fix:    {f.fix}", markup=False)
        console.print()
    counts = ", ".join(f"{len(items)} {sev.label}" for sev, items in report.by_severity())
    console.print(f"{counts} — {len(report.checked)} checks on {report.source}")
