"""Mint a ServiceAccount kubeconfig from an admin kubeconfig over HTTP (TokenRequest).

For an emulator running in another process (`python -m ironlb.emulator --authorization
rbac`) — or a real cluster: this is the plain TokenRequest API. In-process code can use
`EmulatorThread.service_account_kubeconfig()` instead.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from ironlb.emulator.emulator import kubeconfig_dict, write_kubeconfig


def request_token(
    admin_kubeconfig: str | os.PathLike[str],
    namespace: str,
    name: str,
    expiration_seconds: int = 86400,
    timeout: float = 10.0,
) -> tuple[str, dict[str, Any]]:
    """(token, cluster entry of the admin kubeconfig) for ServiceAccount namespace/name."""
    config = yaml.safe_load(Path(admin_kubeconfig).read_text())
    ctx_name = config.get("current-context")
    ctx = next(c["context"] for c in config["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
    url = f"{cluster['server']}/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": expiration_seconds},
    }
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(req, timeout=timeout, context=_ssl(cluster)) as resp:
        out = json.loads(resp.read())
    return str(out["status"]["token"]), cluster


def service_account_kubeconfig(
    admin_kubeconfig: str | os.PathLike[str],
    namespace: str,
    name: str,
    path: str | os.PathLike[str],
    expiration_seconds: int = 86400,
) -> Path:
    """Write a kubeconfig at `path` that authenticates as ServiceAccount namespace/name."""
    token, cluster = request_token(admin_kubeconfig, namespace, name, expiration_seconds)
    config = kubeconfig_dict(cluster["server"], token, cluster.get("certificate-authority-data"))
    return write_kubeconfig(path, config)


def _ssl(cluster: dict[str, Any]) -> ssl.SSLContext | None:
    ca = cluster.get("certificate-authority-data")
    if not str(cluster.get("server", "")).startswith("https") or ca is None:
        return None
    with tempfile.NamedTemporaryFile("wb", suffix=".crt") as f:
        f.write(base64.b64decode(ca))
        f.flush()
        ctx = ssl.create_default_context(cafile=f.name)
    ctx.check_hostname = False  # the self-signed cert names the listen address only
    return ctx
