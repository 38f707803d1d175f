"""Service ClusterIP and NodePort allocation, and the Service defaulting the real server does.

`ServiceHook` is a store hook: on admit it defaults the spec and picks addresses/ports
(honouring requested values, 422 on duplicates or out-of-range, like kube-apiserver's
ipallocator/portallocator); on commit it records or releases them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ironlb.emulator import errors
from ironlb.emulator.builtin import ResourceType
from ironlb.emulator.validation import service_causes

Obj = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class IPAllocator:
    def __init__(self, cidr: str) -> None:
        self.net: Network = ipaddress.ip_network(cidr)
        self.used: set[str] = set()
        self._next = 1

    def contains(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip)
        # network and broadcast addresses are reserved, as in the real allocator
        return (
            addr in self.net
            and addr != self.net.network_address
            and (self.net.version == 6 or addr != self.net.broadcast_address)
        )

    def pick(self, taken: set[str]) -> str | None:
        size = min(self.net.num_addresses - 2, 1 << 20)
        for _ in range(size):
            ip = str(self.net.network_address + self._next)
            self._next = self._next % size + 1
            if ip not in self.used and ip not in taken:
                return ip
        return None


class PortAllocator:
    def __init__(self, low: int = 30000, high: int = 32767) -> None:
        self.low, self.high = low, high
        self.used: set[int] = set()
        self._next = low

    def pick(self, taken: set[int]) -> int | None:
        for _ in range(self.high - self.low + 1):
            port = self._next
            self._next = self.low if port >= self.high else port + 1
            if port not in self.used and port not in taken:
                return port
        return None


class ServiceHook:
    def __init__(self, service_cidrs: list[str], node_ports: tuple[int, int] = (30000, 32767)):
        self.ips = {IPAllocator(c).net.version: IPAllocator(c) for c in service_cidrs}
        self.ports = PortAllocator(*node_ports)

    # ---- store hook ------------------------------------------------------------
    def admit(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt.key != ("", "services"):
            return
        spec = obj.setdefault("spec", {})
        name = obj["metadata"].get("name", "")
        _default_spec(spec)
        causes = service_causes(spec, old)
        if causes:
            raise errors.invalid("Service", "", name, causes)
        self._admit_cluster_ip(spec, old, causes)
        self._admit_node_ports(spec, old, causes)
        if causes:
            raise errors.invalid("Service", "", name, causes)

    def committed(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt.key != ("", "services"):
            return
        if old is not None:
            self._release(old)
        if op != "delete":
            self._reserve(obj)

    def rebuild(self, services: list[Obj]) -> None:
        for svc in services:
            self._reserve(svc)

    # ---- internals -----------------------------------------------------------------
    def _reserve(self, svc: Obj) -> None:
        spec = svc.get("spec", {})
        for ip in _cluster_ips(spec):
            alloc = self.ips.get(ipaddress.ip_address(ip).version)
            if alloc is not None:
                alloc.used.add(ip)
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                self.ports.used.add(int(port["nodePort"]))

    def _release(self, svc: Obj) -> None:
        spec = svc.get("spec", {})
        for ip in _cluster_ips(spec):
            alloc = self.ips.get(ipaddress.ip_address(ip).version)
            if alloc is not None:
                alloc.used.discard(ip)
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                self.ports.used.discard(int(port["nodePort"]))

    def _admit_cluster_ip(self, spec: Obj, old: Obj | None, causes: list[errors.Cause]) -> None:
        if spec.get("type") == "ExternalName":
            for f in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(f, None)
            return
        old_spec = (old or {}).get("spec", {})
        old_ips = _cluster_ips(old_spec)
        requested = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
        if old_ips and old_spec.get("type") != "ExternalName":
            if requested and requested != old_ips:
                causes.append(
                    errors.field_invalid("spec.clusterIPs[0]", requested, "may not change once set")
                )
                return
            requested = old_ips
        if requested == ["None"]:
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            return
        families = (
            spec.get("ipFamilies")
            or [
                "IPv6" if r and ipaddress.ip_address(r).version == 6 else "IPv4"
                for r in requested[:1]
            ]
            or ["IPv4"]
        )
        if (
            spec.get("ipFamilyPolicy") in ("PreferDualStack", "RequireDualStack")
            and len(families) == 1
            and len(self.ips) == 2
        ):
            families = [families[0], "IPv6" if families[0] == "IPv4" else "IPv4"]
        ips: list[str] = []
        for i, family in enumerate(families):
            want = requested[i] if i < len(requested) else None
            ip = self._one_ip(family, want, old_ips, i, causes)
            if ip:
                ips.append(ip)
        if ips:
            spec["clusterIP"], spec["clusterIPs"] = ips[0], ips
            spec["ipFamilies"] = families[: len(ips)]
            spec.setdefault("ipFamilyPolicy", "SingleStack" if len(ips) == 1 else "PreferDualStack")

    def _one_ip(
        self, family: str, want: str | None, old_ips: list[str], i: int, causes: list[errors.Cause]
    ) -> str | None:
        alloc = self.ips.get(6 if family == "IPv6" else 4)
        path = f"spec.clusterIPs[{i}]" if i else "spec.clusterIPs"
        if alloc is None:
            causes.append(
                errors.field_invalid(
                    f"spec.ipFamilies[{i}]", family, "not configured on this cluster"
                )
            )
            return None
        if want is None:
            ip = alloc.pick(set())
            if ip is None:
                causes.append(
                    errors.field_invalid(path, [], "failed to allocate IP: range is full")
                )
            return ip
        if want in old_ips:
            return want
        try:
            inside = alloc.contains(want)
        except ValueError:
            causes.append(errors.field_invalid(path, [want], "must be a valid IP address"))
            return None
        if not inside:
            causes.append(
                errors.field_invalid(
                    path,
                    [want],
                    f"failed to allocate IP {want}: the provided IP ({want}) is not in the valid"
                    f" range. The range of valid IPs is {alloc.net}",
                )
            )
            return None
        if want in alloc.used:
            causes.append(
                errors.field_invalid(
                    path, [want], f"failed to allocate IP {want}: provided IP is already allocated"
                )
            )
            return None
        return want

    def _admit_node_ports(self, spec: Obj, old: Obj | None, causes: list[errors.Cause]) -> None:
        wants_ports = spec.get("type") == "NodePort" or (
            spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)
        )
        old_ports = {
            int(p["nodePort"])
            for p in ((old or {}).get("spec", {}).get("ports") or [])
            if p.get("nodePort")
        }
        taken: set[int] = set()
        for i, port in enumerate(spec.get("ports") or []):
            path = f"spec.ports[{i}].nodePort"
            want = port.get("nodePort")
            if not wants_ports:
                if want and spec.get("type") in ("ClusterIP", "ExternalName"):
                    port.pop("nodePort", None)
                continue
            if want:
                want = int(want)
                if not self.ports.low <= want <= self.ports.high:
                    causes.append(
                        errors.field_invalid(
                            path,
                            want,
                            "provided port is not in the valid range. The range of valid ports"
                            f" is {self.ports.low}-{self.ports.high}",
                        )
                    )
                elif (want in self.ports.used and want not in old_ports) or want in taken:
                    causes.append(
                        errors.field_invalid(path, want, "provided port is already allocated")
                    )
                taken.add(want)
                continue
            picked = self.ports.pick(taken | old_ports)
            if picked is None:
                causes.append(errors.field_invalid(path, 0, "range is full"))
                continue
            port["nodePort"] = picked
            taken.add(picked)


def _cluster_ips(spec: Obj) -> list[str]:
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [ip for ip in ips if ip and ip != "None"]


def _default_spec(spec: Obj) -> None:
    """SetDefaults_Service and the registry strategy's defaults."""
    spec.setdefault("type", "ClusterIP")
    if spec["type"] != "ExternalName":
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    else:
        spec.pop("externalTrafficPolicy", None)
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "targetPort" not in port and "port" in port:
            port["targetPort"] = port["port"]
