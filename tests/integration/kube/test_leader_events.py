"""Leader election, events and the informer → queue → reconcile pipeline on the real
kube-apiserver."""

from __future__ import annotations

import asyncio

from kubernetes import client as k8s

from ironlb.kube.cache import Cache
from ironlb.kube.client import LEASES, SERVICES, Kube, load_api_client
from ironlb.kube.events import WARNING, EventRecorder
from ironlb.kube.informer import Informer
from ironlb.kube.leader import LeaderElector
from ironlb.kube.reconcile import Request, Result, run_workers
from ironlb.kube.workqueue import WorkQueue
from ironlb.netns.wait import async_wait_until


def kube_for(server) -> Kube:
    return Kube(load_api_client(server.kubeconfig), timeout=5)


def candidate(kube: Kube, ns: str, identity: str, log: list[str]) -> LeaderElector:
    return LeaderElector(
        kube,
        "ironlb-controller",
        ns,
        identity,
        lease_duration=1.0,
        renew_deadline=0.6,
        retry_period=0.05,
        on_started_leading=lambda: log.append(f"{identity} started"),
        on_stopped_leading=lambda: log.append(f"{identity} stopped"),
    )


async def test_one_leader_at_a_time_and_a_fast_handover_on_release(
    apiserver, kube_namespace
) -> None:
    ns = kube_namespace
    kube = kube_for(apiserver)
    log: list[str] = []
    a, b = candidate(kube, ns, "a", log), candidate(kube, ns, "b", log)
    task_a = asyncio.create_task(a.run())
    await asyncio.wait_for(a.leading.wait(), 10)
    task_b = asyncio.create_task(b.run())
    for _ in range(10):  # b keeps trying while a renews: never two leaders
        await asyncio.sleep(0.05)
        assert not (a.is_leader and b.is_leader)
    assert not b.is_leader
    a.stop()
    await asyncio.wait_for(task_a, 10)
    await asyncio.wait_for(b.leading.wait(), 10)  # released: b takes over
    lease = await asyncio.to_thread(kube.get, LEASES, "ironlb-controller", ns)
    assert lease["spec"]["holderIdentity"] == "b"
    assert lease["spec"]["leaseTransitions"] >= 1
    b.stop()
    await asyncio.wait_for(task_b, 10)
    assert log == ["a started", "a stopped", "b started", "b stopped"]


def test_events_are_written_and_aggregated(apiserver, kube_namespace) -> None:
    ns = kube_namespace
    kube = kube_for(apiserver)
    svc = kube.create(
        SERVICES,
        {
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        },
    )
    recorder = EventRecorder(kube, "ironlb-controller", "node-a")
    for _ in range(3):
        recorder.record(svc, WARNING, "AllocationFailed", "no available IPs in pool p1")
    recorder.record(svc, "Normal", "IPAllocated", "Assigned IP [203.0.113.5]")
    core = k8s.CoreV1Api(apiserver.api_client())
    events = core.list_namespaced_event(ns).items
    seen = sorted((e.reason, e.count, e.involved_object.name, e.type) for e in events)
    assert seen == [
        ("AllocationFailed", 3, "web", "Warning"),
        ("IPAllocated", 1, "web", "Normal"),
    ]
    assert all(e.involved_object.uid == svc["metadata"]["uid"] for e in events)


async def test_informer_feeds_a_work_queue_and_reconcilers_read_the_cache(
    apiserver, kube_namespace
) -> None:
    ns = kube_namespace
    kube = kube_for(apiserver)
    cache = Cache()
    queue: WorkQueue[Request] = WorkQueue()
    informer = Informer(kube, SERVICES, cache, lambda _r, n, name: queue.add(Request(n, name)), ns)
    seen: dict[str, str | None] = {}

    async def reconcile(req: Request) -> Result:
        obj = cache.get(SERVICES, req.namespace, req.name)
        seen[req.name] = None if obj is None else obj["spec"]["type"]
        return Result()

    tasks = [
        asyncio.create_task(informer.run()),
        asyncio.create_task(run_workers(queue, reconcile, 2)),
    ]
    body = {
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }
    await informer.wait_synced(10)
    await asyncio.to_thread(kube.create, SERVICES, body)
    await async_wait_until(lambda: None if seen.get("web") == "LoadBalancer" else seen, 10)
    await asyncio.to_thread(kube.delete, SERVICES, "web", ns)
    await async_wait_until(lambda: None if "web" in seen and seen["web"] is None else seen, 10)
    informer.stop()
    queue.shut_down()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
