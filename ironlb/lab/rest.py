"""A small JSON-over-REST helper for the lab's agents, on the official client's ApiClient.

The agents work with plain dicts on well-known paths, and only need a trigger when something
changed, so they list (level-triggered) and use watches only to wake up.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

Obj = dict[str, Any]

PATHS = {
    "pods": "/api/v1/pods",
    "services": "/api/v1/services",
    "nodes": "/api/v1/nodes",
    "secrets": "/api/v1/secrets",
    "configmaps": "/api/v1/configmaps",
    "endpoints": "/api/v1/endpoints",
    "endpointslices": "/apis/discovery.k8s.io/v1/endpointslices",
    "deployments": "/apis/apps/v1/deployments",
    "daemonsets": "/apis/apps/v1/daemonsets",
}


def ns_path(kind: str, namespace: str, name: str | None = None, sub: str | None = None) -> str:
    base = PATHS[kind]
    prefix, plural = base.rsplit("/", 1)
    path = f"{prefix}/namespaces/{namespace}/{plural}"
    if name:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path


class Rest:
    def __init__(self, kubeconfig: str) -> None:
        cfg = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        self.api = client.ApiClient(cfg)

    def _request(
        self,
        method: str,
        path: str,
        body: Obj | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] = 10.0,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        method_, url, headers_, body_, post = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        resp = self.api.call_api(method_, url, headers_, body_, post, _request_timeout=timeout)
        if resp.status >= 400:
            raise ApiException(status=resp.status, reason=resp.reason)
        return resp

    def call(
        self,
        method: str,
        path: str,
        body: Obj | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        timeout: float = 10.0,
    ) -> Obj:
        resp = self._request(method, path, body, query, content_type, timeout)
        data = resp.read()
        return json.loads(data) if data else {}

    def list(self, kind: str) -> list[Obj]:
        return self.call("GET", PATHS[kind]).get("items", []) or []

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return self.call("GET", ns_path(kind, namespace, name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, kind: str, obj: Obj) -> Obj:
        return self.call("POST", ns_path(kind, obj["metadata"]["namespace"]), obj)

    def delete(self, kind: str, namespace: str, name: str) -> None:
        try:
            self.call("DELETE", ns_path(kind, namespace, name))
        except ApiException as exc:
            if exc.status != 404:
                raise

    def merge_patch(
        self, kind: str, namespace: str, name: str, patch: Obj, sub: str | None = None
    ) -> Obj:
        return self.call(
            "PATCH",
            ns_path(kind, namespace, name, sub),
            patch,
            content_type="application/merge-patch+json",
        )

    def replace(self, kind: str, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return self.call("PUT", ns_path(kind, meta["namespace"], meta["name"]), obj)

    def watch_forever(self, kind: str, wake: Callable[[], None], stop: threading.Event) -> None:
        """Wake the agent on every event of ``kind`` (reconnecting after errors), until stop."""
        while not stop.is_set():
            try:
                listed = self.call("GET", PATHS[kind])
                rv = listed.get("metadata", {}).get("resourceVersion", "")
                wake()
                resp = self._request(
                    "GET",
                    PATHS[kind],
                    query=[
                        ("watch", "true"),
                        ("resourceVersion", rv),
                        ("allowWatchBookmarks", "true"),
                        ("timeoutSeconds", "60"),
                    ],
                    timeout=(5, 90),
                )
                for _line in _lines(resp):
                    if stop.is_set():
                        break
                    wake()
            except Exception:  # any failure: the next list resynchronises us
                stop.wait(0.5)


def _lines(resp: Any) -> Any:
    buf = b""
    for chunk in resp.response.stream(4096):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line
