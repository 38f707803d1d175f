"""PoolReconciler: IPAddressPool status (MetalLB's counts) and its conditions.

Writes `assignedIPv4/assignedIPv6/availableIPv4/availableIPv6` (MetalLB's field
names) and two conditions: `Valid` (False with the config error that keeps the pool
out of force) and `Announced` (False while addresses are assigned from a pool that no
L2Advertisement or BGPAdvertisement selects). Patched only when it changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from controller.metrics import ControllerMetrics
from controller.state import ControllerState
from controller.status import condition, keep_transition_times, pool_status, same_status
from ironlb.kube import AsyncKube, Cache, NotFound, Request, Result
from ironlb.kube.resources import IPADDRESSPOOLS
from ironlb.log import get_logger

log = get_logger("controller.pool")
Obj = dict[str, Any]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PoolReconciler:
    def __init__(
        self, kube: AsyncKube, cache: Cache, state: ControllerState, metrics: ControllerMetrics
    ) -> None:
        self.kube = kube
        self.cache = cache
        self.state = state
        self.metrics = metrics

    async def __call__(self, req: Request) -> Result:
        obj = self.cache.get(IPADDRESSPOOLS, req.namespace, req.name)
        if obj is None:
            self.metrics.drop_pool(req.name)
            return Result()
        want = self.desired_status(obj)
        have = obj.get("status")
        if same_status(have, want):
            return Result()
        want["conditions"] = keep_transition_times(
            (have or {}).get("conditions"), want["conditions"]
        )
        with contextlib.suppress(NotFound):
            await self.kube.patch(
                IPADDRESSPOOLS, req.name, {"status": want}, req.namespace, subresource="status"
            )
        return Result()

    def desired_status(self, obj: Obj) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        state = self.state
        in_force = name in state.allocator.pools
        counters = state.allocator.counters(name) if in_force else None
        if counters is not None:
            self.metrics.set_pool(name, counters)
        stamp = now_iso()
        errors = state.errors_for("IPAddressPool", name)
        conditions = []
        if errors:
            detail = "; ".join(f"{e.field}: {e.reason}" if e.field else e.reason for e in errors)
            kept = " (the last valid configuration stays in force)" if state.config else ""
            conditions.append(condition("Valid", False, "ConfigError", detail + kept, stamp))
        else:
            conditions.append(condition("Valid", True, "Valid", "configuration accepted", stamp))
        assigned = counters.assigned_ipv4 + counters.assigned_ipv6 if counters else 0
        if name in state.unannounced and assigned:
            conditions.append(
                condition(
                    "Announced",
                    False,
                    "NoAdvertisement",
                    f"{assigned} assigned address(es) but no L2Advertisement or BGPAdvertisement "
                    "selects this pool: nothing announces them",
                    stamp,
                )
            )
        else:
            conditions.append(condition("Announced", True, "Advertised", "announced", stamp))
        return pool_status(counters, conditions)
