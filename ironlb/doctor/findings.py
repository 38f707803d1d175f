"""What a check reports: a finding with severity, objects, why and fix."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    title: str
    objects: tuple[str, ...]
    why: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.label
        data["objects"] = list(self.objects)
        return data


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    source: str = ""

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.INFO)

    def exit_code(self) -> int:
        """0 healthy (info only), 1 warnings, 2 errors."""
        return int(self.worst)

    def by_severity(self) -> list[tuple[Severity, list[Finding]]]:
        groups = []
        for sev in sorted(Severity, reverse=True):
            items = sorted((f for f in self.findings if f.severity == sev), key=lambda f: f.code)
            if items:
                groups.append((sev, items))
        return groups

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "checked": self.checked,
            "summary": {s.label: sum(f.severity == s for f in self.findings) for s in Severity},
            "exitCode": self.exit_code(),
            "findings": [f.to_json() for f in self.findings],
        }
