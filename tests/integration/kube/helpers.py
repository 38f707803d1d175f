"""Shared pieces of the informer integration tests: server-side bulk writes, state views."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from ironlb.kube.backoff import Backoff
from ironlb.kube.cache import Cache
from ironlb.kube.client import CONFIGMAPS, Kube
from ironlb.kube.informer import Informer

Change = tuple[str, str, str]  # (op, namespace, name)


def server_state(kube: Kube) -> dict[tuple[str, str], str]:
    items = kube.list(CONFIGMAPS)["items"]
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): _rv(o) for o in items}


def cache_state(cache: Cache) -> dict[tuple[str, str], str]:
    return {
        (o["metadata"]["namespace"], o["metadata"]["name"]): _rv(o) for o in cache.list(CONFIGMAPS)
    }


def _rv(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["resourceVersion"])


def converged(kube: Kube, cache: Cache) -> Callable[[], object | None]:
    """A wait_until check: None once the cache equals the server's list (by resourceVersion)."""

    def check() -> object | None:
        server, mine = server_state(kube), cache_state(cache)
        if server == mine:
            return None
        missing = sorted(set(server) - set(mine))[:3]
        extra = sorted(set(mine) - set(server))[:3]
        stale = sorted(k for k in set(server) & set(mine) if server[k] != mine[k])[:3]
        return {"server": len(server), "cache": len(mine), "missing": missing, "extra": extra,
                "stale": stale}  # fmt: skip

    return check


def bulk(server: Any, changes: list[Change], *, cut_watches: bool = False) -> None:
    """Apply ``changes`` inside the emulator's loop in one go (no watch can interleave).

    With ``cut_watches`` the open watch streams are ended first, so a client sees the changes
    only after it reconnects: if they overflowed the history, that is a 410.
    """
    emulator = server.emulator

    def apply() -> None:
        store = emulator.store
        if cut_watches:
            emulator.server.close_watches()
            emulator.server.stopping = False  # end current streams only; new ones are welcome
        rt = store.find_type("", "v1", "configmaps")
        now = time.time()
        for op, ns, name in changes:
            if op == "create":
                store.create(rt, ns, {"metadata": {"name": name, "namespace": ns}}, now)
            elif op == "update":
                current = store.get(rt, ns, name)
                current["data"] = {"n": str(int((current.get("data") or {}).get("n", "0")) + 1)}
                store.update(rt, ns, name, current, now)
            else:
                store.delete(rt, ns, name, now)

    server.call(apply)


def start_informer(
    kube: Kube, changes: list[tuple[str, str]] | None = None
) -> tuple[Informer, Cache, asyncio.Task[None]]:
    cache = Cache()
    informer = Informer(
        kube,
        CONFIGMAPS,
        cache,
        None if changes is None else lambda _r, ns, name: changes.append((ns, name)),
        backoff=Backoff(initial=0.05, maximum=0.5, rng=random.Random(3)),
        watch_timeout=60,
        read_timeout=20,
    )
    return informer, cache, asyncio.create_task(informer.run())


async def stop_informer(informer: Informer, task: asyncio.Task[None]) -> None:
    informer.stop()
    await asyncio.wait_for(task, 15)
