"""Diagnostics that turn MetalLB's "common mistakes" into something a user sees.

Pure: no I/O; time is a parameter.
- pools that no L2Advertisement or BGPAdvertisement selects ("assigned but not
  announced": the Service shows an address nobody answers for);
- k3s's Klipper ServiceLB (svclb-* DaemonSets) handling the same Services;
- a Service status flapping because another writer keeps replacing ours.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from ironlb.config.validate import Config

KLIPPER_SVC_LABEL = "svccontroller.k3s.cattle.io/svcname"
KLIPPER_NS_LABEL = "svccontroller.k3s.cattle.io/svcnamespace"


def unannounced_pools(config: Config) -> set[str]:
    """Pools that no advertisement of either kind selects."""
    announced: set[str] = set()
    for adv in (*config.l2_advertisements.values(), *config.bgp_advertisements.values()):
        announced.update(config.pools_of(adv))
    return set(config.pools) - announced


def klipper_services(daemonsets: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Service key -> name of the Klipper (k3s ServiceLB) DaemonSet serving it."""
    found: dict[str, str] = {}
    for ds in daemonsets:
        meta = ds.get("metadata") or {}
        name = meta.get("name") or ""
        labels = meta.get("labels") or {}
        if not name.startswith("svclb-"):
            continue
        svc = labels.get(KLIPPER_SVC_LABEL)
        if not svc:
            continue
        namespace = labels.get(KLIPPER_NS_LABEL) or meta.get("namespace") or "default"
        found[f"{namespace}/{svc}"] = name
    return found


class FlapDetector:
    """Counts foreign rewrites of a Service's status within a sliding window.

    `observe(key, now)` is called each time the controller finds the status it
    wrote replaced by someone else; it returns True once per burst, when the count
    in `window` seconds reaches `threshold`, so the warning is not repeated on every
    flap.
    """

    def __init__(self, window: float = 120.0, threshold: int = 3) -> None:
        self.window = window
        self.threshold = threshold
        self._seen: dict[str, deque[float]] = {}
        self._warned: dict[str, float] = {}

    def observe(self, key: str, now: float) -> bool:
        times = self._seen.setdefault(key, deque())
        times.append(now)
        while times and times[0] < now - self.window:
            times.popleft()
        if len(times) < self.threshold:
            return False
        last = self._warned.get(key)
        if last is not None and now - last < self.window:
            return False
        self._warned[key] = now
        return True

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)
        self._warned.pop(key, None)
