"""Arbitrary request bodies never crash the emulator: every answer is a Status or an object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.emulator.http import raw
from tests.plugins.emulator import start_apiserver

JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=5)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "metadata",
                    "spec",
                    "data",
                    "status",
                    "name",
                    "labels",
                    "ports",
                    "finalizers",
                    "$patch",
                    "type",
                    "port",
                    "nodePort",
                    "op",
                    "path",
                    "value",
                    "resourceVersion",
                ]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
PATCH_TYPES = [
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_apiserver(Path(tmp_path_factory.mktemp("fuzz")), [])
    raw(
        srv.url,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        {"metadata": {"name": "target"}, "data": {"a": "1"}},
    )
    raw(
        srv.url,
        "POST",
        "/api/v1/namespaces/default/services",
        {"metadata": {"name": "svc"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
    )
    yield srv
    srv.close()


def _acceptable(code: int, body) -> bool:
    if code >= 500:
        return False
    return isinstance(body, dict) and (code < 300 or body.get("kind") == "Status")


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    JSONISH,
    st.sampled_from(PATCH_TYPES),
    st.sampled_from(["configmaps/target", "services/svc", "services/svc/status"]),
)
def test_patches_never_crash(server, body, ctype: str, target: str) -> None:
    code, out, _ = raw(
        server.url,
        "PATCH",
        f"/api/v1/namespaces/default/{target}",
        json.dumps(body).encode(),
        {"Content-Type": ctype},
    )
    assert _acceptable(code, out), (code, out)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(JSONISH, st.sampled_from(["configmaps", "services", "pods", "namespaces"]))
def test_creates_never_crash(server, body, plural: str) -> None:
    path = (
        "/api/v1/namespaces" if plural == "namespaces" else f"/api/v1/namespaces/default/{plural}"
    )
    code, out, _ = raw(server.url, "POST", path, json.dumps(body).encode())
    assert _acceptable(code, out), (code, out)
