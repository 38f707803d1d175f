"""The speaker's HTTP endpoint: /metrics, and /healthz and /readyz for the kubelet's probes.

It runs in its own threads (as prometheus_client's `start_http_server` did), created before
the loop thread turns SCHED_FIFO, so a scrape never competes with ARP/NDP answers. /healthz
asks the event loop to run a no-op and answers 503 when it does not within two seconds: a
wedged loop no longer answers ARP, and the kubelet should restart it. /readyz is 200 once
the speaker has heard its peers and started announcing (until it begins to drain).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

LOOP_TIMEOUT = 2.0


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds
        pass


def loop_responsive(loop: asyncio.AbstractEventLoop, timeout: float | None = None) -> bool:
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    try:
        loop.call_soon_threadsafe(done.set_result, None)
        done.result(LOOP_TIMEOUT if timeout is None else timeout)
    except (RuntimeError, concurrent.futures.TimeoutError):  # closed, or too busy to answer
        return False
    return True


def serve(
    address: str,
    port: int,
    registry: CollectorRegistry,
    loop: asyncio.AbstractEventLoop,
    ready: Callable[[], bool],
) -> WSGIServer:
    """Start serving in a daemon thread; OSError if the address cannot be bound."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/healthz", "/readyz"):
            ok = loop_responsive(loop) if path == "/healthz" else ready()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n" if ok else b"not ready\n" if path == "/readyz" else b"loop stuck\n"]
        return metrics(environ, start_response)

    family = socket.getaddrinfo(address or None, port, type=socket.SOCK_STREAM)[0][0]
    server_class = type("_Server", (_Server,), {"address_family": family})
    server = make_server(address, port, app, server_class, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    return server
