"""The API resources ironlb reads and writes, as plain (group, version, plural, kind) tuples."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

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
    "Resource",
]


class Resource(NamedTuple):
    """One REST resource; ``group`` is ``""`` for the core API."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``<group>/<version>`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The URL path: collection (all namespaces or one), object, or object subresource."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
            if subresource:
                base += f"/{subresource}"
        return base

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


SERVICES = Resource("", "v1", "services", "Service", True)
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False)
NODES = Resource("", "v1", "nodes", "Node", False)
PODS = Resource("", "v1", "pods", "Pod", True)
SECRETS = Resource("", "v1", "secrets", "Secret", True)
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", True)
EVENTS = Resource("", "v1", "events", "Event", True)
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", True)
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", True)
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet", True)

METALLB_GROUP = "metallb.io"
IPADDRESSPOOLS = Resource(METALLB_GROUP, "v1beta1", "ipaddresspools", "IPAddressPool", True)
L2ADVERTISEMENTS = Resource(METALLB_GROUP, "v1beta1", "l2advertisements", "L2Advertisement", True)
BGPADVERTISEMENTS = Resource(
    METALLB_GROUP, "v1beta1", "bgpadvertisements", "BGPAdvertisement", True
)
BGPPEERS = Resource(METALLB_GROUP, "v1beta2", "bgppeers", "BGPPeer", True)
BFDPROFILES = Resource(METALLB_GROUP, "v1beta1", "bfdprofiles", "BFDProfile", True)
COMMUNITIES = Resource(METALLB_GROUP, "v1beta1", "communities", "Community", True)
SERVICEL2STATUSES = Resource(METALLB_GROUP, "v1beta1", "servicel2statuses", "ServiceL2Status", True)
SERVICEBGPSTATUSES = Resource(
    METALLB_GROUP, "v1beta1", "servicebgpstatuses", "ServiceBGPStatus", True
)
BGPSESSIONSTATES = Resource(METALLB_GROUP, "v1beta1", "bgpsessionstates", "BGPSessionState", True)
METALLB_RESOURCES = (
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    BGPADVERTISEMENTS,
    BGPPEERS,
    BFDPROFILES,
    COMMUNITIES,
    SERVICEL2STATUSES,
    SERVICEBGPSTATUSES,
    BGPSESSIONSTATES,
)
