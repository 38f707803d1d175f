"""The resource types the emulator serves out of the box, and the type record itself.

A `ResourceType` is one (group, plural) storage bucket; CRDs add more at run time
(`crd.py`). Field selectors list what the real server accepts for that kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERBS_NS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]
BASE_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass
class ResourceType:
    group: str
    versions: list[str]
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    status_subresource: bool = False
    # Real strategies drop status on create, except where the kind lets clients set it.
    keep_status_on_create: bool = False
    default_status: dict[str, Any] | None = None
    generation: bool = False
    field_selectors: tuple[str, ...] = BASE_FIELDS
    strategic_merge: bool = True
    unconditional_update: bool = True
    verbs: tuple[str, ...] = tuple(VERBS_NS)
    # Served from another type's storage through a conversion (events.k8s.io -> core events).
    shares: tuple[str, str] | None = None
    # Create-only review kinds: answered, never stored (no RBAC is enforced here).
    review: bool = False
    # Some registries answer DELETE with the object, the rest with a Success Status.
    return_deleted_object: bool = False
    name_rule: str = "subdomain"  # or "label" (DNS-1123) / "label1035" (DNS-1035)
    # CRD-only data
    crd: dict[str, Any] | None = None
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    printer_columns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    storage_version: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def api_version(self, version: str | None = None) -> str:
        v = version or self.preferred_version
        return f"{self.group}/{v}" if self.group else v

    @property
    def preferred_version(self) -> str:
        return self.storage_version or self.versions[0]

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


def _rt(
    group: str, version: str, plural: str, kind: str, namespaced: bool, **kw: Any
) -> ResourceType:
    singular = kw.pop("singular", kind.lower())
    return ResourceType(group, [version], plural, singular, kind, namespaced, **kw)


_POD_FIELDS = (
    *BASE_FIELDS,
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    *BASE_FIELDS,
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
_NEW_EVENT_FIELDS = (
    *BASE_FIELDS,
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "reason",
    "reportingController",
    "type",
)


def builtin_types() -> list[ResourceType]:
    """A fresh list (types are mutable records; each store gets its own)."""
    return [
        _rt(
            "",
            "v1",
            "namespaces",
            "Namespace",
            False,
            short_names=["ns"],
            status_subresource=True,
            default_status={"phase": "Active"},
            field_selectors=(*BASE_FIELDS, "status.phase"),
            name_rule="label",
        ),
        _rt(
            "",
            "v1",
            "services",
            "Service",
            True,
            short_names=["svc"],
            categories=["all"],
            status_subresource=True,
            default_status={"loadBalancer": {}},
            field_selectors=(*BASE_FIELDS, "spec.clusterIP", "spec.type"),
            name_rule="label1035",
            return_deleted_object=True,
        ),
        _rt("", "v1", "endpoints", "Endpoints", True, short_names=["ep"], singular="endpoints"),
        _rt(
            "",
            "v1",
            "nodes",
            "Node",
            False,
            short_names=["no"],
            status_subresource=True,
            keep_status_on_create=True,
            field_selectors=(*BASE_FIELDS, "spec.unschedulable"),
        ),
        _rt(
            "",
            "v1",
            "pods",
            "Pod",
            True,
            short_names=["po"],
            categories=["all"],
            status_subresource=True,
            default_status={"phase": "Pending", "qosClass": "BestEffort"},
            field_selectors=_POD_FIELDS,
            return_deleted_object=True,
        ),
        _rt("", "v1", "events", "Event", True, short_names=["ev"], field_selectors=_EVENT_FIELDS),
        _rt("", "v1", "secrets", "Secret", True, field_selectors=(*BASE_FIELDS, "type")),
        _rt("", "v1", "configmaps", "ConfigMap", True, short_names=["cm"]),
        _rt(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            True,
            short_names=["sa"],
            return_deleted_object=True,
        ),
        _rt(
            "discovery.k8s.io",
            "v1",
            "endpointslices",
            "EndpointSlice",
            True,
            field_selectors=(*BASE_FIELDS, "addressType"),
        ),
        _rt(
            "events.k8s.io",
            "v1",
            "events",
            "Event",
            True,
            short_names=["ev"],
            field_selectors=_NEW_EVENT_FIELDS,
            shares=("", "events"),
        ),
        _rt("coordination.k8s.io", "v1", "leases", "Lease", True),
        *[
            _rt(
                "apps",
                "v1",
                plural,
                kind,
                True,
                short_names=short,
                categories=["all"],
                status_subresource=True,
                default_status=status,
                generation=True,
            )
            for plural, kind, short, status in (
                ("deployments", "Deployment", ["deploy"], {}),
                # Go ints without omitempty: a fresh object already shows them as 0.
                (
                    "daemonsets",
                    "DaemonSet",
                    ["ds"],
                    {
                        "currentNumberScheduled": 0,
                        "numberMisscheduled": 0,
                        "desiredNumberScheduled": 0,
                        "numberReady": 0,
                    },
                ),
                ("replicasets", "ReplicaSet", ["rs"], {"replicas": 0}),
                ("statefulsets", "StatefulSet", ["sts"], {"replicas": 0, "availableReplicas": 0}),
            )
        ],
        *[
            _rt("rbac.authorization.k8s.io", "v1", plural, kind, namespaced, name_rule="path")
            for plural, kind, namespaced in (
                ("roles", "Role", True),
                ("rolebindings", "RoleBinding", True),
                ("clusterroles", "ClusterRole", False),
                ("clusterrolebindings", "ClusterRoleBinding", False),
            )
        ],
        *[
            _rt("authorization.k8s.io", "v1", plural, kind, False, verbs=("create",), review=True)
            for plural, kind in (
                ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
                ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
                ("subjectaccessreviews", "SubjectAccessReview"),
            )
        ],
        _rt(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            short_names=["crd", "crds"],
            categories=["api-extensions"],
            status_subresource=True,
            keep_status_on_create=False,
            default_status={},
            generation=True,
        ),
    ]


DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
