"""speaker.health: /metrics as before, /healthz follows the event loop, /readyz the speaker."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from speaker import health


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    if loop.is_running():
        loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_probes_and_metrics(loop: asyncio.AbstractEventLoop, monkeypatch) -> None:
    monkeypatch.setattr(health, "LOOP_TIMEOUT", 0.3)
    registry = CollectorRegistry()
    Counter("ironlb_test_things", "things", registry=registry).inc()
    ready = threading.Event()
    server = health.serve("127.0.0.1", 0, registry, loop, ready.is_set)
    try:
        port = server.server_port
        assert _get(port, "/healthz") == (200, "ok\n")
        assert _get(port, "/readyz") == (503, "not ready\n")
        ready.set()
        assert _get(port, "/readyz") == (200, "ok\n")
        status, body = _get(port, "/metrics")
        assert status == 200 and "ironlb_test_things_total 1.0" in body
        loop.call_soon_threadsafe(loop.stop)  # a loop that no longer runs callbacks
        while loop.is_running():
            time.sleep(0.01)
        assert _get(port, "/healthz") == (503, "loop stuck\n")
    finally:
        server.shutdown()
        server.server_close()
