"""How the lab's kubelet runs a Pod's container (pure).

Only two kinds of image exist in the lab:
- the ironlb image (``ironlb`` in the repository name): the container's ``command``/``args``
  run as real processes from this checkout's virtualenv (``ironlb speaker ...``), with the
  Pod's env resolved like the kubelet does (literal values, ``fieldRef`` to spec.nodeName /
  metadata / status.podIP / status.hostIP, ``secretKeyRef``, ``configMapKeyRef``) and
  ``$(VAR)`` references expanded in the arguments;
- anything else (``nginx``...): a small HTTP server answering like nginx's welcome page on
  each declared containerPort (80 when none is declared).
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
Lookup = Callable[[str, str, str, str], str | None]  # (kind, namespace, name, key) -> value
_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Launch:
    """One process of a Pod: what to run and with which environment."""

    container: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    ironlb: bool = False


class PodSpecError(ValueError):
    """A Pod cannot be run (e.g. a missing Secret key); the message names the field."""


def is_ironlb_image(image: str) -> bool:
    repo = image.split("@")[0].rsplit(":", 1)[0] if "/" in image or ":" in image else image
    return "ironlb" in repo.rsplit("/", 1)[-1]


def _field_value(path: str, pod: Obj, pod_ip: str, host_ip: str) -> str:
    meta = pod.get("metadata", {})
    values = {
        "spec.nodeName": pod.get("spec", {}).get("nodeName", ""),
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName", "default"),
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    if path not in values:
        raise PodSpecError(f"env fieldRef {path!r} is not supported by the lab kubelet")
    return values[path]


def resolve_env(
    container: Obj, pod: Obj, lookup: Lookup, pod_ip: str, host_ip: str
) -> dict[str, str]:
    ns = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = {}
    for item in container.get("env", []) or []:
        name = item["name"]
        if "value" in item:
            env[name] = _VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), item["value"])
            continue
        source = item.get("valueFrom", {}) or {}
        if "fieldRef" in source:
            env[name] = _field_value(source["fieldRef"]["fieldPath"], pod, pod_ip, host_ip)
        elif "secretKeyRef" in source or "configMapKeyRef" in source:
            kind = "Secret" if "secretKeyRef" in source else "ConfigMap"
            ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
            value = lookup(kind, ns, ref["name"], ref["key"])
            if value is None:
                if ref.get("optional"):
                    continue
                raise PodSpecError(
                    f"pod {ns}/{pod['metadata']['name']}: env {name}: {kind} "
                    f"{ref['name']!r} has no key {ref['key']!r}"
                )
            env[name] = value
    return env


def decode_secret(secret: Obj, key: str) -> str | None:
    if key in (secret.get("stringData") or {}):
        return secret["stringData"][key]
    raw = (secret.get("data") or {}).get(key)
    return None if raw is None else base64.b64decode(raw).decode()


def _ironlb_argv(container: Obj, env: dict[str, str], bin_dir: Path) -> list[str]:
    words = list(container.get("command") or ["ironlb"]) + list(container.get("args") or [])
    words = [_VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), w) for w in words]
    head = words[0].rsplit("/", 1)[-1]
    if head == "ironlb":
        return [str(bin_dir / "ironlb"), *words[1:]]
    if head in ("python", "python3"):
        return [sys.executable, *words[1:]]
    return [str(bin_dir / head), *words[1:]]


def launches(pod: Obj, lookup: Lookup, pod_ip: str, host_ip: str, bin_dir: Path) -> list[Launch]:
    out = []
    for container in pod.get("spec", {}).get("containers", []) or []:
        env = resolve_env(container, pod, lookup, pod_ip, host_ip)
        ports = tuple(int(p["containerPort"]) for p in container.get("ports", []) or [])
        if is_ironlb_image(container.get("image", "")):
            argv = _ironlb_argv(container, env, bin_dir)
            out.append(Launch(container["name"], argv, env, ports, ironlb=True))
        else:
            serve = ports or (80,)
            argv = [
                sys.executable,
                "-m",
                "ironlb.lab.podserver",
                "--name",
                pod["metadata"]["name"],
                *[f"--port={p}" for p in serve],
            ]
            out.append(Launch(container["name"], argv, env, serve, ironlb=False))
    return out
