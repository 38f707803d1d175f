"""Run every check over a snapshot into one report."""

from __future__ import annotations

from ironlb.doctor.checks import CHECKS, Options
from ironlb.doctor.findings import Finding, Report, Severity
from ironlb.doctor.snapshot import Snapshot


def diagnose(snap: Snapshot, opts: Options | None = None) -> Report:
    opts = opts or Options()
    report = Report(source=snap.source)
    for message in snap.errors:
        report.add(Finding("read-error", Severity.WARNING, message, (), message, ""))
    for name, fn in CHECKS:
        report.checked.append(name)
        for finding in fn(snap, opts):
            report.add(finding)
    return report
