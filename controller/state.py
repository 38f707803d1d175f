"""The controller's in-memory state shared by its reconcilers (no I/O).

Everything here can be rebuilt from the API: the allocator from Service statuses,
the config from the metallb.io objects, the diagnostics from DaemonSets. Nothing
in it is authoritative; that is what makes a restart or a failover safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.allocator import Allocator, Refusal
from controller.assign import Assigner
from controller.diagnostics import FlapDetector, klipper_services, unannounced_pools
from ironlb.config import ConfigError, build_config
from ironlb.config.validate import Config


def creation_order(svc: Mapping[str, Any]) -> tuple[str, str, str]:
    """Oldest first, so on a restore conflict the Service that had the address first keeps it."""
    meta = svc.get("metadata") or {}
    return (meta.get("creationTimestamp") or "", meta.get("namespace") or "", meta.get("name", ""))


@dataclass(slots=True)
class ConfigOutcome:
    applied: bool
    pools_changed: bool
    new_errors: list[ConfigError]
    evicted: list[str]


@dataclass(slots=True)
class ControllerState:
    lb_class: str | None = None
    assigner: Assigner = field(init=False)
    config: Config | None = None
    errors: list[ConfigError] = field(default_factory=list)
    reported_errors: set[ConfigError] = field(default_factory=set)
    unannounced: set[str] = field(default_factory=set)
    klipper: dict[str, str] = field(default_factory=dict)
    flaps: FlapDetector = field(default_factory=FlapDetector)
    # Per Service: what we last wrote (ips, resourceVersion the write returned),
    # the last refusal reported, and the warnings already given.
    written: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    last_refusal: dict[str, Refusal | None] = field(default_factory=dict)
    warned: dict[str, set[str]] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.assigner = Assigner(Allocator(), self.lb_class)

    @property
    def allocator(self) -> Allocator:
        return self.assigner.allocator

    def reset(self) -> None:
        """Forget everything (lost leadership): the next leader term rebuilds from the API."""
        self.assigner = Assigner(Allocator(), self.lb_class)
        self.config = None
        self.errors = []
        self.reported_errors = set()
        self.unannounced = set()
        self.written.clear()
        self.last_refusal.clear()
        self.warned.clear()
        self.pending.clear()

    def load_config(self, objects: Iterable[Mapping[str, Any]]) -> ConfigOutcome:
        """Apply the metallb.io objects if they form a valid config; else keep the last one."""
        result = build_config(objects)
        self.errors = list(result.errors)
        new_errors = [e for e in result.errors if e not in self.reported_errors]
        self.reported_errors = set(result.errors)
        if not result.ok:
            return ConfigOutcome(False, False, new_errors, [])
        old_pools = self.config.pools if self.config else None
        self.config = result.config
        self.unannounced = unannounced_pools(result.config)
        changed = old_pools != result.config.pools
        evicted = self.assigner.set_pools(result.config.pools) if changed else []
        return ConfigOutcome(True, changed, new_errors, evicted)

    def errors_for(self, kind: str, name: str) -> list[ConfigError]:
        return [e for e in self.errors if e.kind == kind and e.name == name]

    def set_daemonsets(self, daemonsets: Iterable[Mapping[str, Any]]) -> set[str]:
        """Update the Klipper map; returns the Service keys whose entry changed."""
        new = klipper_services(daemonsets)
        changed = {k for k in new.keys() | self.klipper.keys() if new.get(k) != self.klipper.get(k)}
        self.klipper = new
        return changed

    def warn_once(self, key: str, what: str) -> bool:
        seen = self.warned.setdefault(key, set())
        if what in seen:
            return False
        seen.add(what)
        return True

    def forget_service(self, key: str) -> None:
        self.written.pop(key, None)
        self.last_refusal.pop(key, None)
        self.warned.pop(key, None)
        self.pending.discard(key)
        self.flaps.forget(key)
