"""Shared pieces of the informer integration tests: bulk writes through the API, state views,
and a TCP proxy that can cut a client off from the apiserver (a network partition)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ironlb.kube.backoff import Backoff
from ironlb.kube.cache import Cache
from ironlb.kube.client import CONFIGMAPS, Kube
from ironlb.kube.errors import NotFound
from ironlb.kube.informer import Informer

Change = tuple[str, str, str]  # (op, namespace, name)


def server_state(kube: Kube, namespace: str | None = None) -> dict[tuple[str, str], str]:
    items = kube.list(CONFIGMAPS, namespace)["items"]
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): _rv(o) for o in items}


def cache_state(cache: Cache) -> dict[tuple[str, str], str]:
    return {
        (o["metadata"]["namespace"], o["metadata"]["name"]): _rv(o) for o in cache.list(CONFIGMAPS)
    }


def _rv(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["resourceVersion"])


def converged(kube: Kube, cache: Cache, namespace: str) -> Callable[[], object | None]:
    """A wait_until check: None once the cache equals the server's list (by resourceVersion)."""

    def check() -> object | None:
        server, mine = server_state(kube, namespace), cache_state(cache)
        if server == mine:
            return None
        missing = sorted(set(server) - set(mine))[:3]
        extra = sorted(set(mine) - set(server))[:3]
        stale = sorted(k for k in set(server) & set(mine) if server[k] != mine[k])[:3]
        return {"server": len(server), "cache": len(mine), "missing": missing, "extra": extra,
                "stale": stale}  # fmt: skip

    return check


def apply_change(kube: Kube, change: Change) -> None:
    op, ns, name = change
    if op == "create":
        kube.create(CONFIGMAPS, {"metadata": {"name": name, "namespace": ns}, "data": {"n": "0"}})
    elif op == "update":
        current = kube.get(CONFIGMAPS, name, ns)
        n = int((current.get("data") or {}).get("n", "0")) + 1
        kube.patch(CONFIGMAPS, name, {"data": {"n": str(n)}}, ns)
    else:
        with contextlib.suppress(NotFound):
            kube.delete(CONFIGMAPS, name, ns)


def bulk(kubes: list[Kube], changes: list[Change]) -> None:
    """Apply ``changes`` through the API with one worker per client. Changes to one object
    keep their order (an object always goes to the same worker)."""
    lanes: list[list[Change]] = [[] for _ in kubes]
    for change in changes:
        lanes[hash(change[2]) % len(kubes)].append(change)

    def run(kube: Kube, lane: list[Change]) -> None:
        for change in lane:
            apply_change(kube, change)

    with ThreadPoolExecutor(len(kubes)) as pool:
        for future in [pool.submit(run, k, lane) for k, lane in zip(kubes, lanes, strict=True)]:
            future.result()


def start_informer(
    kube: Kube, namespace: str, changes: list[tuple[str, str]] | None = None
) -> tuple[Informer, Cache, asyncio.Task[None]]:
    cache = Cache()
    informer = Informer(
        kube,
        CONFIGMAPS,
        cache,
        None if changes is None else lambda _r, ns, name: changes.append((ns, name)),
        namespace,
        backoff=Backoff(initial=0.05, maximum=0.5, rng=random.Random(3)),
        watch_timeout=60,
        read_timeout=20,
    )
    return informer, cache, asyncio.create_task(informer.run())


async def stop_informer(informer: Informer, task: asyncio.Task[None]) -> None:
    informer.stop()
    await asyncio.wait_for(task, 15)


class Partition:
    """A TCP proxy on 127.0.0.1 in front of the apiserver. :meth:`cut` closes every
    connection through it and refuses new ones (the client is cut off, the server is not);
    :meth:`heal` listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.heal()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def heal(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept, listener)

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = set(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        self.cut()
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns |= {client, upstream}
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._conns.discard(src)
            src.close()  # the other pump closes dst; a closed socket object fails, never reuses
