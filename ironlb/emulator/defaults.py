"""Defaulting of built-in kinds (k8s.io/kubernetes pkg/apis/*/v1/defaults.go, abridged).

A real server fills these in on every write, so clients comparing what they sent with what
they read back (kubectl apply, kubernetes.core.k8s) see the same shapes here.
"""

from __future__ import annotations

from typing import Any

from ironlb.emulator.builtin import ResourceType

Obj = dict[str, Any]
_WORKLOADS = {
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
}


class DefaultsHook:
    def admit(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt.key == ("", "namespaces"):
            namespace(obj)
            return
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        if rt.key == ("", "pods"):
            pod_spec(spec)
        elif rt.key in _WORKLOADS:
            workload(rt.plural, spec)

    def committed(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        return None


def namespace(obj: Obj) -> None:
    """The immutable name label (since 1.21) selectors rely on, and the kubernetes finalizer."""
    md = obj.setdefault("metadata", {})
    labels = md.get("labels") or {}
    md["labels"] = {**labels, "kubernetes.io/metadata.name": md.get("name", "")}
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def workload(plural: str, spec: Obj) -> None:
    if plural != "daemonsets":
        spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    if plural == "deployments":
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
    elif plural == "daemonsets":
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
    elif plural == "statefulsets":
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault(
            "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
        )
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        pod_spec(template["spec"])


def pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                _container(container)


def _container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    if "imagePullPolicy" not in c:
        image = str(c.get("image", ""))
        tagless = ":" not in image.rsplit("/", 1)[-1] and "@" not in image
        c["imagePullPolicy"] = "Always" if tagless or image.endswith(":latest") else "IfNotPresent"
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(c.get(probe), dict):
            p = c[probe]
            for field, value in (
                ("timeoutSeconds", 1),
                ("periodSeconds", 10),
                ("successThreshold", 1),
                ("failureThreshold", 3),
            ):
                p.setdefault(field, value)
