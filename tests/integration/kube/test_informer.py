"""The informer against the real kube-apiserver: an apiserver restart, a 410 after a network
partition during which etcd's history was compacted, a 10,000-change burst.

Each test ends by comparing the informer's cache with the server's own list. ConfigMaps are
served from etcd, not from the apiserver's watch cache (tests/plugins/kubeapi.py), so an etcd
compaction expires their watch history at once, as it does on a real cluster.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ironlb.kube.client import CONFIGMAPS, Kube, load_api_client
from ironlb.netns.wait import async_wait_until
from tests.integration.kube.helpers import (
    Partition,
    bulk,
    cache_state,
    converged,
    server_state,
    start_informer,
    stop_informer,
)


def kube_at(kubeconfig: str | Path, timeout: float = 5) -> Kube:
    return Kube(load_api_client(str(kubeconfig)), timeout=timeout)


def cm(name: str, ns: str) -> dict:
    return {"metadata": {"name": name, "namespace": ns}, "data": {"n": "0"}}


async def test_informer_follows_changes_made_through_the_api(apiserver, kube_namespace) -> None:
    ns = kube_namespace
    kube = kube_at(apiserver.kubeconfig)
    kube.create(CONFIGMAPS, cm("before", ns))
    changes: list[tuple[str, str]] = []
    informer, cache, task = start_informer(kube, ns, changes)
    await informer.wait_synced(10)
    assert (ns, "before") in changes
    await asyncio.to_thread(kube.create, CONFIGMAPS, cm("after", ns))
    await asyncio.to_thread(kube.delete, CONFIGMAPS, "before", ns)
    await async_wait_until(converged(kube, cache, ns), 10)
    assert cache.get(CONFIGMAPS, ns, "before") is None
    assert changes.count((ns, "before")) == 2  # added, then deleted
    await stop_informer(informer, task)


async def test_informer_survives_an_apiserver_restart(apiserver, kube_namespace) -> None:
    """kube-apiserver stops and comes back on the same port (etcd keeps the data): the
    informer resumes its watch where it was, without a relist."""
    ns = kube_namespace
    kube = kube_at(apiserver.kubeconfig)
    for i in range(20):
        kube.create(CONFIGMAPS, cm(f"cm{i}", ns))
    informer, cache, task = start_informer(kube, ns)
    try:
        await informer.wait_synced(10)
        await async_wait_until(converged(kube, cache, ns), 10)
        errors_before = informer.stats.errors
        await asyncio.to_thread(apiserver.stop_apiserver)
        # The informer notices: its stream ends and reconnects fail until the server is back.
        await async_wait_until(
            lambda: None if informer.stats.errors > errors_before else "no error yet", 30
        )
        await asyncio.to_thread(apiserver.start_apiserver)
        await asyncio.to_thread(kube.delete, CONFIGMAPS, "cm0", ns)
        await asyncio.to_thread(kube.create, CONFIGMAPS, cm("new", ns))
        await asyncio.to_thread(kube.patch, CONFIGMAPS, "cm1", {"data": {"n": "1"}}, ns)
        await async_wait_until(converged(kube, cache, ns), 30)
        assert cache.get(CONFIGMAPS, ns, "cm0") is None
        assert cache.get(CONFIGMAPS, ns, "cm1")["data"] == {"n": "1"}
        assert informer.stats.lists == 1 and informer.stats.expired == 0  # resumed, no relist
    finally:
        await stop_informer(informer, task)


async def test_informer_relists_after_410_when_history_was_compacted(
    apiserver, kube_namespace, tmp_path: Path
) -> None:
    """Cut off from the apiserver (a partition), the informer misses 200 changes; etcd's
    history is compacted meanwhile. Its resume gets 410 Gone, so it must relist, and the
    relist must tell the consumer about the objects deleted while it was away."""
    ns = kube_namespace
    admin = kube_at(apiserver.kubeconfig)
    partition = Partition(int(apiserver.url.rsplit(":", 1)[1]))
    try:
        via_proxy = kube_at(apiserver.kubeconfig_for_url(partition.url, tmp_path / "proxied"))
        bulk([admin], [("create", ns, f"cm{i}") for i in range(30)])
        changes: list[tuple[str, str]] = []
        informer, cache, task = start_informer(via_proxy, ns, changes)
        try:
            await informer.wait_synced(10)
            await async_wait_until(converged(admin, cache, ns), 10)
            changes.clear()
            partition.cut()
            burst = [("update", ns, f"cm{i}") for i in range(10, 30)] * 9
            burst += [("delete", ns, f"cm{i}") for i in range(10)]
            burst += [("create", ns, f"new{i}") for i in range(10)]
            await asyncio.to_thread(bulk, [admin], burst)
            await asyncio.to_thread(apiserver.compact)
            partition.heal()
            await async_wait_until(converged(admin, cache, ns), 30)
            assert informer.stats.expired >= 1
            assert informer.stats.lists >= 2
            vanished = {(ns, f"cm{i}") for i in range(10)}
            assert vanished <= set(changes)  # the relist told the consumer about deletions
            assert not vanished & set(cache_state(cache))
        finally:
            await stop_informer(informer, task)
    finally:
        partition.close()


@pytest.mark.slow
async def test_informer_keeps_up_with_10000_changes(apiserver, kube_namespace) -> None:
    ns = kube_namespace
    kube = kube_at(apiserver.kubeconfig, timeout=30)
    writers = [kube_at(apiserver.kubeconfig, timeout=30) for _ in range(4)]
    informer, cache, task = start_informer(kube, ns)
    try:
        await informer.wait_synced(10)
        first, rest = [f"a{i:05d}" for i in range(1000)], [f"b{i:05d}" for i in range(4000)]
        phases = [
            [("create", ns, n) for n in first],
            [("delete", ns, n) for n in first[:500]],
            [("create", ns, n) for n in rest],
            [("update", ns, n) for n in first[500:] + rest],
        ]
        assert sum(map(len, phases)) == 10_000
        started = time.perf_counter()
        for phase in phases:
            await asyncio.to_thread(bulk, writers, phase)
        written = time.perf_counter() - started
        # One list per poll, spaced out: the check must not slow down the informer.
        await async_wait_until(converged(kube, cache, ns), 180, interval=1.0)
        received = time.perf_counter() - started
        print(
            f"informer burst: 10,000 changes written in {written:.2f} s (kube-apiserver), "
            f"informer caught up in {received:.2f} s ({informer.stats.events} watch events, "
            f"{informer.stats.lists} lists, {informer.stats.resets} resets); cache identical"
        )
        assert len(cache_state(cache)) == len(server_state(kube, ns)) == 4500
        assert informer.stats.events >= 10_000  # every change came through the watch
        assert informer.stats.lists == 1 and informer.stats.resets == 0
    finally:
        await stop_informer(informer, task)
