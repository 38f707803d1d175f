"""Run controllers in-process against the real kube-apiserver and drive it with the real
client."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from controller.app import ControllerApp, ControllerOptions
from ironlb.kube import AsyncKube, Kube, NotFound
from ironlb.kube.resources import (
    EVENTS,
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    SERVICES,
)

NS = "metallb-system"
Obj = dict[str, Any]


class Cluster:
    """The test's own client: creates objects and reads what the controller wrote.

    Services, their Events and the other namespaced objects of a test go to ``ns`` (the
    test's own namespace) unless a namespace is named.
    """

    def __init__(self, apiserver: Any, ns: str) -> None:
        self.apiserver = apiserver
        self.ns = ns
        self.kube = Kube(apiserver.api_client())
        self.akube = AsyncKube(self.kube)

    async def namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        await asyncio.to_thread(self.apiserver.ensure_namespace, name, labels)

    async def pool(self, name: str, *addresses: str, **spec: Any) -> Obj:
        body = {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"addresses": list(addresses), **spec},
        }
        try:
            current = await self.akube.get(IPADDRESSPOOLS, name, NS)
        except NotFound:
            return await self.akube.create(IPADDRESSPOOLS, body)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return await self.akube.replace(IPADDRESSPOOLS, body)

    async def l2(self, name: str, *pools: str) -> Obj:
        body = {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"ipAddressPools": list(pools)} if pools else {},
        }
        return await self.akube.create(L2ADVERTISEMENTS, body)

    async def service(
        self,
        name: str,
        namespace: str | None = None,
        *,
        annotations: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
        ports: list[tuple[str, int]] | None = None,
        **spec: Any,
    ) -> Obj:
        namespace = namespace or self.ns
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": annotations or {},
                "labels": labels or {},
            },
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": name},
                "ports": [
                    {"name": f"p{n}", "protocol": p, "port": n} for p, n in (ports or [("TCP", 80)])
                ],
                **spec,
            },
        }
        return await self.akube.create(SERVICES, body, namespace)

    async def get_service(self, name: str, namespace: str | None = None) -> Obj:
        return await self.akube.get(SERVICES, name, namespace or self.ns)

    async def ips(self, name: str, namespace: str | None = None) -> list[str]:
        try:
            svc = await self.get_service(name, namespace)
        except NotFound:
            return []
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return [i.get("ip") for i in ingress]

    async def events(self, name: str, namespace: str | None = None) -> list[Obj]:
        listing = await self.akube.list(EVENTS, namespace or self.ns)
        return [e for e in listing["items"] if (e.get("involvedObject") or {}).get("name") == name]

    async def reasons(self, name: str, namespace: str | None = None) -> set[str]:
        return {e.get("reason") for e in await self.events(name, namespace)}


async def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll an async `check` until it returns a truthy value; fail with the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@contextlib.asynccontextmanager
async def running_controller(apiserver: Any, **options: Any) -> AsyncIterator[ControllerApp]:
    opts = ControllerOptions(metrics_port=options.pop("metrics_port", None), **options)
    app = ControllerApp(apiserver.api_client(), opts)
    task = asyncio.create_task(app.run(), name=f"controller-{opts.identity}")
    try:
        await wait_for(_synced_or_failed(app, task), 15, "controller caches synced")
        yield app
    finally:
        app.stop()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 15)


def _synced_or_failed(app: ControllerApp, task: asyncio.Task[None]) -> Callable[[], Any]:
    async def check() -> bool:
        if task.done():
            task.result()  # raise what killed it
            raise AssertionError("controller exited before syncing")
        return app.synced.is_set()

    return check


async def start_controller(
    apiserver: Any, **options: Any
) -> tuple[ControllerApp, asyncio.Task[None]]:
    """A controller whose lifetime the test manages (see `kill`)."""
    opts = ControllerOptions(metrics_port=options.pop("metrics_port", None), **options)
    app = ControllerApp(apiserver.api_client(), opts)
    task = asyncio.create_task(app.run(), name=f"controller-{opts.identity}")
    await wait_for(_synced_or_failed(app, task), 15, "controller caches synced")
    return app, task


async def kill(app: ControllerApp, task: asyncio.Task[None]) -> None:
    """Stop abruptly, like a crash: no Lease release, work in flight is abandoned."""
    if app.elector is not None:
        app.elector.release_on_stop = False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, 15)
