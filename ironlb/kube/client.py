"""The one wrapper over the official ``kubernetes`` client: plain dicts in and out.

Requests go through ``ApiClient.param_serialize`` + ``call_api`` (the client's own auth, TLS,
proxy and token refresh) and are read as JSON from the raw, unpreloaded response, so no model
classes are involved and any resource (custom ones included) is handled the same way.
Blocking: asyncio callers use :class:`AsyncKube` (each call in a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, ParamSpec, TypeVar

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from ironlb.kube.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    TransportError,
    Unauthorized,
    error_from_status,
)
from ironlb.kube.resources import (
    BFDPROFILES,
    BGPADVERTISEMENTS,
    BGPPEERS,
    BGPSESSIONSTATES,
    COMMUNITIES,
    CONFIGMAPS,
    DAEMONSETS,
    DEPLOYMENTS,
    ENDPOINTSLICES,
    EVENTS,
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    LEASES,
    METALLB_GROUP,
    METALLB_RESOURCES,
    NAMESPACES,
    NODES,
    PODS,
    SECRETS,
    SERVICEBGPSTATUSES,
    SERVICEL2STATUSES,
    SERVICES,
    Resource,
)

__all__ = [
    "BFDPROFILES",
    "BGPADVERTISEMENTS",
    "BGPPEERS",
    "BGPSESSIONSTATES",
    "COMMUNITIES",
    "CONFIGMAPS",
    "DAEMONSETS",
    "DEPLOYMENTS",
    "ENDPOINTSLICES",
    "EVENTS",
    "IPADDRESSPOOLS",
    "L2ADVERTISEMENTS",
    "LEASES",
    "METALLB_GROUP",
    "METALLB_RESOURCES",
    "NAMESPACES",
    "NODES",
    "PODS",
    "SECRETS",
    "SERVICEBGPSTATUSES",
    "SERVICEL2STATUSES",
    "SERVICES",
    "AlreadyExists",
    "ApiError",
    "AsyncKube",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "Kube",
    "NotFound",
    "PatchType",
    "Resource",
    "TransportError",
    "Unauthorized",
    "WatchStream",
    "load_api_client",
]

PatchType = Literal["merge", "strategic", "json", "apply"]
_PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
_AUTH = ["BearerToken"]
Obj = dict[str, Any]


def load_api_client(kubeconfig: str | None = None) -> k8s_client.ApiClient:
    """An ApiClient from ``kubeconfig``, else ``$KUBECONFIG``, else in-cluster, else ~/.kube/config.

    In-cluster means a pod (``KUBERNETES_SERVICE_HOST`` set) using its service account.
    """
    configuration = k8s_client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        k8s_config.load_incluster_config(client_configuration=configuration)
    else:
        # None means ~/.kube/config; $KUBECONFIG may list several files, merged by the client.
        k8s_config.load_kube_config(config_file=path, client_configuration=configuration)
    return k8s_client.ApiClient(configuration)


def _query(**params: Any) -> list[tuple[str, str]]:
    out = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append((key, str(value)))
    return out


class WatchStream:
    """One watch request: iterate for ``{"type", "object"}`` dicts; ``close()`` from any thread.

    An ``ERROR`` event raises the typed error (``Gone`` for an expired resourceVersion). The
    iteration ends when the server closes the stream (its ``timeoutSeconds``).
    """

    def __init__(self, response: Any) -> None:
        self._response = response  # urllib3.HTTPResponse, not preloaded
        self._closed = False

    def __iter__(self) -> Iterator[Obj]:
        try:
            for line in self._lines():
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise error_from_status(int(status.get("code") or 500), status)
                yield event
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if not self._closed:
                raise TransportError(f"watch stream broken: {exc}") from exc
        finally:
            self.close()

    def _lines(self) -> Iterator[bytes]:
        buffer = b""
        for chunk in self._response.stream(amt=65536, decode_content=True):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
        if buffer.strip():
            yield buffer

    def close(self) -> None:
        """Stop the stream; a blocked reader in another thread wakes up and ends."""
        if self._closed:
            return
        self._closed = True
        # Best effort: shutdown() wakes a reader blocked in another thread.
        with contextlib.suppress(Exception):
            self._response.shutdown()
        with contextlib.suppress(Exception):
            self._response.release_conn()


class Kube:
    """list/get/create/replace/patch/delete/watch on plain dicts for any :class:`Resource`."""

    def __init__(
        self,
        api_client: k8s_client.ApiClient,
        *,
        timeout: float = 30.0,
        page_size: int = 500,
    ) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self.page_size = page_size

    # ------------------------------------------------------------------ transport

    def _send(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self.api_client.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=_AUTH,
        )
        try:
            response = self.api_client.call_api(
                *request, _request_timeout=timeout if timeout is not None else self.timeout
            )
        except k8s_client.ApiException as exc:  # TLS or client-side refusal
            raise TransportError(f"{method} {path}: {exc.reason}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransportError(f"{method} {path}: {exc}") from exc
        return response.response

    def _request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Obj:
        raw = self._send(method, path, query, body, content_type)
        try:
            data = raw.data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransportError(f"{method} {path}: {exc}") from exc
        finally:
            raw.release_conn()
        if not 200 <= raw.status <= 299:
            raise error_from_status(raw.status, data)
        return json.loads(data) if data else {}

    # ------------------------------------------------------------------- verbs

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
    ) -> Obj:
        """The whole list (pages followed), items carrying ``apiVersion``/``kind``.

        ``metadata.resourceVersion`` of the result is the collection's, for a watch to start.
        """
        items: list[Obj] = []
        token: str | None = None
        while True:
            query = _query(
                labelSelector=label_selector,
                fieldSelector=field_selector,
                limit=self.page_size,
            )
            if token:
                query.append(("continue", token))
            elif resource_version is not None:
                query.append(("resourceVersion", resource_version))
            page = self._request("GET", resource.path(namespace), query)
            for item in page.get("items") or []:
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
                items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                break
        return {
            "apiVersion": resource.api_version,
            "kind": f"{resource.kind}List",
            "metadata": {"resourceVersion": meta.get("resourceVersion", "")},
            "items": items,
        }

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> Obj:
        return self._request("GET", resource.path(namespace, name))

    def create(
        self, resource: Resource, obj: Mapping[str, Any], namespace: str | None = None
    ) -> Obj:
        """Create ``obj``; the namespace defaults to ``obj.metadata.namespace``."""
        body = _with_type(resource, obj)
        ns = namespace or (body.get("metadata") or {}).get("namespace")
        return self._request("POST", resource.path(ns), body=body)

    def replace(
        self,
        resource: Resource,
        obj: Mapping[str, Any],
        *,
        subresource: str | None = None,
    ) -> Obj:
        """PUT ``obj`` (its ``metadata.resourceVersion`` makes it conditional: 409 if stale)."""
        body = _with_type(resource, obj)
        meta = body.get("metadata") or {}
        path = resource.path(meta.get("namespace"), meta["name"], subresource)
        return self._request("PUT", path, body=body)

    def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        patch_type: PatchType = "merge",
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> Obj:
        """PATCH with a merge (default), strategic, JSON (list of ops) or apply patch."""
        content_type = _PATCH_CONTENT_TYPES[patch_type]
        query = _query(fieldManager=field_manager, force=force)
        body = json.dumps(patch) if patch_type == "apply" else patch
        path = resource.path(namespace, name, subresource)
        return self._request("PATCH", path, query, body=body, content_type=content_type)

    def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
        grace_period_seconds: int | None = None,
    ) -> Obj:
        """Delete; returns the object (deletionTimestamp set while finalizers hold it) or Status."""
        options: Obj = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = dict(preconditions)
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        return self._request("DELETE", resource.path(namespace, name), body=options)

    def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        allow_bookmarks: bool = True,
        timeout_seconds: int | None = 300,
        read_timeout: float | None = None,
    ) -> WatchStream:
        """Open a watch; the server ends it after ``timeout_seconds``.

        ``read_timeout`` (default: ``timeout_seconds`` + 30 s) bounds a silent connection, so a
        dead server is noticed even without TCP resets.
        """
        query = _query(
            watch=True,
            resourceVersion=resource_version,
            labelSelector=label_selector,
            fieldSelector=field_selector,
            allowWatchBookmarks=allow_bookmarks,
            timeoutSeconds=timeout_seconds,
        )
        if read_timeout is None:
            read_timeout = (timeout_seconds or 300) + 30.0
        raw = self._send(
            "GET", resource.path(namespace), query, timeout=(min(self.timeout, 10.0), read_timeout)
        )
        if not 200 <= raw.status <= 299:
            try:
                data = raw.data
            finally:
                raw.release_conn()
            raise error_from_status(raw.status, data)
        return WatchStream(raw)


def _with_type(resource: Resource, obj: Mapping[str, Any]) -> Obj:
    body = dict(obj)
    body.setdefault("apiVersion", resource.api_version)
    body.setdefault("kind", resource.kind)
    return body


P = ParamSpec("P")
T = TypeVar("T")


def _threaded(method: Callable[..., T]) -> Callable[..., Any]:
    name = method.__name__

    @functools.wraps(method)
    async def call(self: AsyncKube, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.kube, name), *args, **kwargs)

    return call


class AsyncKube:
    """The same verbs as :class:`Kube`, awaited (each runs in a worker thread)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    list = _threaded(Kube.list)
    get = _threaded(Kube.get)
    create = _threaded(Kube.create)
    replace = _threaded(Kube.replace)
    patch = _threaded(Kube.patch)
    delete = _threaded(Kube.delete)
