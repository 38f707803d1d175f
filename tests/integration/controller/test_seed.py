"""The seed's hands-on, on a real kube-apiserver: one pool, one L2Advertisement, one Service."""

from __future__ import annotations

from typing import Any

from tests.integration.controller.harness import NS, Cluster, running_controller, wait_for

ALLOCATED_FROM = "metallb.io/ip-allocated-from-pool"


async def test_seed_hands_on_gets_first_address(apiserver: Any, kube_namespace: str) -> None:
    c = Cluster(apiserver, kube_namespace)
    await c.namespace(NS)
    await c.pool("kind-pool", "172.18.255.200-172.18.255.250")
    await c.l2("kind-l2", "kind-pool")
    async with running_controller(apiserver):
        await c.service("web")
        ips = await wait_for(lambda: c.ips("web"), what="web to get an address")
        assert ips == ["172.18.255.200"]

        async def pool_annotation() -> str | None:  # written just after the status
            svc = await c.get_service("web")
            return (svc["metadata"].get("annotations") or {}).get(ALLOCATED_FROM)

        assert await wait_for(pool_annotation, what="pool annotation") == "kind-pool"
        assert "IPAllocated" in await wait_for(lambda: c.reasons("web"), what="IPAllocated event")


async def test_ironlb_controller_command_end_to_end(apiserver: Any, kube_namespace: str) -> None:
    """The real `ironlb controller` process: assigns, serves /readyz, exits 0 on SIGTERM."""
    import asyncio
    import signal
    import socket
    import sys

    import aiohttp

    c = Cluster(apiserver, kube_namespace)
    await c.namespace(NS)
    await c.pool("kind-pool", "172.18.255.200-172.18.255.250")
    await c.l2("kind-l2", "kind-pool")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "controller",
        "--kubeconfig",
        apiserver.kubeconfig,
        "--metrics-host",
        "127.0.0.1",
        "--metrics-port",
        str(port),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await c.service("web")
        assert await wait_for(lambda: c.ips("web"), 20) == ["172.18.255.200"]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/readyz") as r,
        ):
            assert r.status == 200
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err
