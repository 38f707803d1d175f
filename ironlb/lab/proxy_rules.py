"""kube-proxy's job on one lab node, as an nftables script (pure).

For every Service port: DNAT from the ClusterIP, from each load-balancer ingress IP and from
the NodePort (on the node's own addresses) to the ready endpoints, chosen at random per
connection (``numgen random`` into one chain per endpoint, like kube-proxy's nftables mode).
Traffic that may leave the node is marked and masqueraded so replies come back through it;
with ``externalTrafficPolicy: Local`` the load-balancer and NodePort paths use only this
node's endpoints and keep the client's address (no masquerade), and drop when there are none.
The script replaces the whole table atomically (``nft -f``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ironlb.lab.endpoints import SERVICE_NAME_LABEL

Obj = dict[str, Any]
MASQ_MARK = "0x4000"


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    node: str | None


def table_name(prefix: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", prefix) + "_proxy"


def _chain(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(str(p) for p in parts))[:200]


def _endpoints_for(port: Obj, slices: list[Obj]) -> list[Endpoint]:
    name = port.get("name", "")
    found = []
    for sl in slices:
        numbers = [p["port"] for p in sl.get("ports", []) or [] if p.get("name", "") == name]
        if not numbers:
            continue
        for ep in sl.get("endpoints", []) or []:
            if ep.get("conditions", {}).get("ready", True):
                for addr in ep.get("addresses", []):
                    if ":" not in addr:
                        found.append(Endpoint(addr, numbers[0], ep.get("nodeName")))
    return sorted(set(found), key=lambda e: (e.ip, e.port))


def _ipv4(values: Iterable[str | None]) -> list[str]:
    return [v for v in values if v and ":" not in v and v != "None"]


def render(prefix: str, node: str, services: Iterable[Obj], slices: Iterable[Obj]) -> str:
    """The full nft script for ``node``."""
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        svc = sl["metadata"].get("labels", {}).get(SERVICE_NAME_LABEL)
        if svc:
            by_service.setdefault((sl["metadata"]["namespace"], svc), []).append(sl)
    table = table_name(prefix)
    dispatch: list[str] = []
    chains: list[str] = []
    for svc in sorted(services, key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])):
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        spec = svc.get("spec", {})
        local = spec.get("externalTrafficPolicy") == "Local"
        cluster_ips = _ipv4([spec.get("clusterIP"), *(spec.get("clusterIPs") or [])])
        ingress = (svc.get("status", {}).get("loadBalancer", {}) or {}).get("ingress") or []
        lb_ips = _ipv4([i.get("ip") for i in ingress])
        lb_ips += _ipv4(spec.get("externalIPs") or [])
        for port in spec.get("ports", []) or []:
            proto = port.get("protocol", "TCP").lower()
            if proto not in ("tcp", "udp"):
                continue
            eps = _endpoints_for(port, by_service.get((ns, name), []))
            base = _chain("svc", ns, name, port.get("name") or port["port"])
            chains += _service_chains(base, eps, proto, masquerade=True)
            for ip in sorted(set(cluster_ips)):
                dispatch.append(f"ip daddr {ip} {proto} dport {port['port']} jump {base}")
            ext = base
            if local:
                ext = base + "_local"
                local_eps = [e for e in eps if e.node == node]
                chains += _service_chains(ext, local_eps, proto, masquerade=False)
            if svc.get("spec", {}).get("type") == "LoadBalancer":
                for ip in sorted(set(lb_ips)):
                    dispatch.append(f"ip daddr {ip} {proto} dport {port['port']} jump {ext}")
            if port.get("nodePort") and spec.get("type") in ("NodePort", "LoadBalancer"):
                dispatch.append(f"fib daddr type local {proto} dport {port['nodePort']} jump {ext}")
    lines = [
        f"table ip {table} {{}}",
        f"delete table ip {table}",
        f"table ip {table} {{",
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        "    jump services",
        "  }",
        "  chain output {",
        "    type nat hook output priority -100; policy accept;",
        "    jump services",
        "  }",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        f"    meta mark & {MASQ_MARK} == {MASQ_MARK} masquerade",
        "  }",
        "  chain services {",
        *[f"    {rule}" for rule in dispatch],
        "  }",
        *chains,
        "}",
    ]
    return "\n".join(lines) + "\n"


def _service_chains(base: str, eps: list[Endpoint], proto: str, *, masquerade: bool) -> list[str]:
    body: list[str] = []
    if masquerade:
        body.append(f"meta mark set meta mark | {MASQ_MARK}")
    if not eps:
        # kube-proxy rejects traffic for a Service without endpoints.
        body.append("drop")
    elif len(eps) == 1:
        body.append(f"meta l4proto {proto} dnat to {eps[0].ip}:{eps[0].port}")
    else:
        targets = ", ".join(f"{i} : jump {base}_ep{i}" for i in range(len(eps)))
        body.append(f"numgen random mod {len(eps)} vmap {{ {targets} }}")
    out = [f"  chain {base} {{", *[f"    {b}" for b in body], "  }"]
    if len(eps) > 1:
        for i, ep in enumerate(eps):
            out += [
                f"  chain {base}_ep{i} {{",
                f"    meta l4proto {proto} dnat to {ep.ip}:{ep.port}",
                "  }",
            ]
    return out
