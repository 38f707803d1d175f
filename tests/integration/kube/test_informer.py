"""The informer against the emulator: restart, 410 mid-stream, a 10,000-change burst.

Each test ends by comparing the informer's cache with the server's own list.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ironlb.kube.client import CONFIGMAPS, Kube, load_api_client
from ironlb.netns.wait import async_wait_until
from tests.integration.kube.helpers import (
    bulk,
    cache_state,
    converged,
    server_state,
    start_informer,
    stop_informer,
)
from tests.plugins.emulator import start_apiserver


def kube_for(server) -> Kube:
    return Kube(load_api_client(server.kubeconfig), timeout=5)


def cm(name: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "data": {"n": "0"}}


async def test_informer_follows_changes_made_through_the_api(apiserver) -> None:
    kube = kube_for(apiserver)
    kube.create(CONFIGMAPS, cm("before"))
    changes: list[tuple[str, str]] = []
    informer, cache, task = start_informer(kube, changes)
    await informer.wait_synced(10)
    assert ("default", "before") in changes
    await asyncio.to_thread(kube.create, CONFIGMAPS, cm("after"))
    await asyncio.to_thread(kube.delete, CONFIGMAPS, "before", "default")
    await async_wait_until(converged(kube, cache), 10)
    assert cache.get(CONFIGMAPS, "default", "before") is None
    assert changes.count(("default", "before")) == 2  # added, then deleted
    await stop_informer(informer, task)


async def test_informer_survives_an_emulator_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = start_apiserver(tmp_path, [], state_file=str(state))
    port = int(first.url.rsplit(":", 1)[1])
    kube = kube_for(first)
    for i in range(20):
        kube.create(CONFIGMAPS, cm(f"cm{i}"))
    informer, cache, task = start_informer(kube)
    second = None
    try:
        await informer.wait_synced(10)
        await async_wait_until(converged(kube, cache), 10)
        errors_before = informer.stats.errors
        await asyncio.to_thread(first.close)  # state saved; the port is free
        # The informer notices: its stream ends and reconnects fail until the server is back.
        # A stream caught mid-reconnect by the shutdown is only noticed by its read timeout
        # (20 s), so allow for that rather than only for the fast path.
        await async_wait_until(
            lambda: None if informer.stats.errors > errors_before else "no error yet", 30
        )
        (tmp_path / "again").mkdir()
        second = await asyncio.to_thread(
            start_apiserver, tmp_path / "again", [], state_file=str(state), port=port
        )
        kube2 = kube_for(second)
        await asyncio.to_thread(kube2.delete, CONFIGMAPS, "cm0", "default")
        await asyncio.to_thread(kube2.create, CONFIGMAPS, cm("new"))
        await asyncio.to_thread(kube2.patch, CONFIGMAPS, "cm1", {"data": {"n": "1"}}, "default")
        await async_wait_until(converged(kube2, cache), 20)
        assert cache.get(CONFIGMAPS, "default", "cm0") is None
        assert cache.get(CONFIGMAPS, "default", "cm1")["data"] == {"n": "1"}
    finally:
        await stop_informer(informer, task)
        if second is not None:
            second.close()
        first.close()


async def test_informer_relists_when_a_restarted_server_lost_its_history(tmp_path: Path) -> None:
    first = start_apiserver(tmp_path, [])
    port = int(first.url.rsplit(":", 1)[1])
    kube = kube_for(first)
    for i in range(20):
        kube.create(CONFIGMAPS, cm(f"old{i}"))
    changes: list[tuple[str, str]] = []
    informer, cache, task = start_informer(kube, changes)
    second = None
    try:
        await informer.wait_synced(10)
        await async_wait_until(converged(kube, cache), 10)
        await asyncio.to_thread(first.close)
        (tmp_path / "fresh").mkdir()
        # No state file: the new server's resourceVersions start again from the bottom.
        second = await asyncio.to_thread(start_apiserver, tmp_path / "fresh", [], port=port)
        kube2 = kube_for(second)
        await asyncio.to_thread(kube2.create, CONFIGMAPS, cm("fresh"))
        await async_wait_until(converged(kube2, cache), 20)
        assert informer.stats.resets >= 1
        assert ("default", "old3") in changes[20:]  # the consumer heard the old ones vanish
    finally:
        await stop_informer(informer, task)
        if second is not None:
            second.close()
        first.close()


async def test_informer_relists_after_410_mid_stream(tmp_path: Path) -> None:
    server = start_apiserver(tmp_path, [], history=50)
    try:
        kube = kube_for(server)
        bulk(server, [("create", "default", f"cm{i}") for i in range(30)])
        changes: list[tuple[str, str]] = []
        informer, cache, task = start_informer(kube, changes)
        await informer.wait_synced(10)
        await async_wait_until(converged(kube, cache), 10)
        changes.clear()
        # Streams are cut and 200 changes overflow the 50-event history before the informer
        # can resume: its resume gets an ERROR 410 event, so it must relist.
        burst = [("update", "default", f"cm{i}") for i in range(10, 30)] * 9
        burst += [("delete", "default", f"cm{i}") for i in range(10)]
        burst += [("create", "default", f"new{i}") for i in range(10)]
        bulk(server, burst, cut_watches=True)
        await async_wait_until(converged(kube, cache), 20)
        assert informer.stats.expired >= 1
        assert informer.stats.lists >= 2
        vanished = {("default", f"cm{i}") for i in range(10)}
        assert vanished <= set(changes)  # the relist told the consumer about deletions
        assert not vanished & set(cache_state(cache))
        await stop_informer(informer, task)
    finally:
        server.close()


@pytest.mark.slow
async def test_informer_keeps_up_with_10000_changes(tmp_path: Path) -> None:
    # Bookmarks rarely: the emulator (for now) may send a bookmark carrying its newest
    # resourceVersion while older events still wait in the stream; the informer then sees
    # the version go back and relists (safe, tested above) instead of showing watch throughput.
    # History as deep as the burst: a real apiserver resumes watches from etcd for ~5 min,
    # while the emulator's default 1,000-event window could expire the informer's first watch
    # if it connects after the writer has started (seen on a slow CI machine: 0 watch events).
    apiserver = start_apiserver(tmp_path, [], bookmark_interval=60.0, history=20_000)
    try:
        kube = kube_for(apiserver)
        informer, cache, task = start_informer(kube)
        await informer.wait_synced(10)
        # Deletes go first, while the store is small: the emulator's delete scans every object.
        first, rest = [f"a{i:05d}" for i in range(1000)], [f"b{i:05d}" for i in range(4000)]
        changes = [("create", "default", n) for n in first]
        changes += [("delete", "default", n) for n in first[:500]]
        changes += [("create", "default", n) for n in rest]
        changes += [("update", "default", n) for n in first[500:] + rest]
        assert len(changes) == 10_000
        started = time.perf_counter()
        for i in range(0, len(changes), 1000):
            await asyncio.to_thread(bulk, apiserver, changes[i : i + 1000])
        written = time.perf_counter() - started
        final_rv = int(kube.list(CONFIGMAPS)["metadata"]["resourceVersion"])

        def caught_up() -> object | None:  # cheap: a full list per poll would slow the informer
            seen = int(informer.resource_version or 0)
            return None if seen >= final_rv else {"informer": seen, "server": final_rv}

        await async_wait_until(caught_up, 120, interval=0.1)
        received = time.perf_counter() - started
        await async_wait_until(converged(kube, cache), 30, interval=0.5)
        print(
            f"informer burst: 10,000 changes written in {written:.2f} s (emulator), informer "
            f"caught up in {received:.2f} s ({informer.stats.events} watch events, "
            f"{informer.stats.lists} lists, {informer.stats.resets} resets); cache identical"
        )
        assert len(cache_state(cache)) == len(server_state(kube)) == 4500
        assert informer.stats.events >= 10_000  # every change came through the watch
        assert informer.stats.lists == 1 and informer.stats.resets == 0
        await stop_informer(informer, task)
    finally:
        apiserver.close()
