"""Client pieces that need no server: paths, kubeconfig loading, watch line framing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import urllib3

from ironlb.kube.client import (
    BGPPEERS,
    LEASES,
    NODES,
    SERVICES,
    Gone,
    TransportError,
    WatchStream,
    load_api_client,
)


def test_resource_paths() -> None:
    assert SERVICES.path() == "/api/v1/services"
    assert SERVICES.path("a b") == "/api/v1/namespaces/a%20b/services"
    assert SERVICES.path("ns", "web", "status") == "/api/v1/namespaces/ns/services/web/status"
    assert NODES.path("ignored", "n1") == "/api/v1/nodes/n1"
    assert LEASES.path("x", "l") == "/apis/coordination.k8s.io/v1/namespaces/x/leases/l"
    assert BGPPEERS.api_version == "metallb.io/v1beta2" and str(BGPPEERS) == "bgppeers.metallb.io"


def test_load_api_client_reads_kubeconfig_from_env(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "abc"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    client = load_api_client()
    assert client.configuration.host == "http://127.0.0.1:6443"
    assert client.configuration.api_key["BearerToken"] == "Bearer abc"


def test_in_cluster_without_a_service_account_fails_clearly(monkeypatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    from kubernetes.config import ConfigException

    with pytest.raises(ConfigException):
        load_api_client()


class FakeResponse:
    def __init__(self, chunks: list[bytes], fail: bool = False) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    def stream(self, amt: int, decode_content: bool) -> object:
        yield from self.chunks
        if self.fail:
            raise urllib3.exceptions.ProtocolError("connection broken")

    def shutdown(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        pass


def line(kind: str, name: str) -> bytes:
    return json.dumps({"type": kind, "object": {"metadata": {"name": name}}}).encode() + b"\n"


def test_watch_lines_split_across_chunks() -> None:
    data = line("ADDED", "a") + line("MODIFIED", "b") + b"\n" + line("DELETED", "c")
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    response = FakeResponse(chunks)
    events = [(e["type"], e["object"]["metadata"]["name"]) for e in WatchStream(response)]
    assert events == [("ADDED", "a"), ("MODIFIED", "b"), ("DELETED", "c")]
    assert response.closed


def test_watch_error_events_and_broken_streams_raise_typed_errors() -> None:
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    error = json.dumps({"type": "ERROR", "object": status}).encode() + b"\n"
    with pytest.raises(Gone, match="too old"):
        list(WatchStream(FakeResponse([line("ADDED", "a"), error])))
    with pytest.raises(TransportError):
        list(WatchStream(FakeResponse([line("ADDED", "a")], fail=True)))
    closed = WatchStream(FakeResponse([line("ADDED", "a")], fail=True))
    closed.close()
    # Closed by us (stop/cancel from another thread): the broken read ends it quietly.
    assert [e["type"] for e in closed] == ["ADDED"]
