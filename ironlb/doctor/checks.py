"""The checks. Each takes the snapshot and options and yields findings; pure."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ironlb import yamlio
from ironlb.doctor import view
from ironlb.doctor.findings import Finding, Severity
from ironlb.doctor.snapshot import Snapshot, ref

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True)
class Options:
    lb_class: str | None = None
    exhaustion_threshold: float = 0.8
    l2_share_threshold: float = 0.6


Check = Callable[[Snapshot, Options], Iterator[Finding]]
CHECKS: list[tuple[str, Check]] = []


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS.append((name, fn))
        return fn

    return register


@check("config-valid")
def config_valid(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    from ironlb.config import build_config

    ours = [o for o in _metallb_objects(snap)]
    for err in build_config(ours).errors:
        yield Finding(
            "config-invalid",
            ERR,
            "Invalid metallb.io configuration",
            (f"{err.kind} {err.name}",),
            str(err),
            "Fix the field named above; until then the last valid configuration stays in force.",
        )


def _metallb_objects(snap: Snapshot) -> list[dict]:
    return [
        o
        for objs in snap.objects.values()
        for o in objs
        if str(o.get("apiVersion", "")).startswith("metallb.io/")
    ]


@check("pool-advertised")
def pool_without_advertisement(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    advertised = view.advertised_pools(snap, "L2Advertisement")
    advertised |= view.advertised_pools(snap, "BGPAdvertisement")
    all_pools = view.pools(snap)
    services = [s for s in snap.of("Service") if view.is_our_service(s, opts.lb_class)]
    for pool in all_pools:
        if pool.name in advertised:
            continue
        holders = [ref(s) for s in services if view.service_pool(s, all_pools) is pool]
        held = f" {len(holders)} Service(s) already hold its addresses." if holders else ""
        yield Finding(
            "pool-not-advertised",
            ERR if holders else WARN,
            f"IPAddressPool {pool.name} is not selected by any L2Advertisement or BGPAdvertisement",
            (ref(pool.obj), *holders),
            "Addresses from this pool are assigned but never announced, so traffic to them "
            f"cannot reach the cluster.{held}",
            f"Create an L2Advertisement (or BGPAdvertisement) with ipAddressPools: [{pool.name}] "
            f"in {view.namespace(pool.obj) or 'the ironlb namespace'}.",
        )


@check("legacy-configmap")
def legacy_configmap(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    for cm in snap.of("ConfigMap"):
        data = cm.get("data") or {}
        if view.name(cm) in ("config", "metallb-config") and "config" in data:
            text = str(data["config"])
            if "address-pools" in text or "peers" in text:
                ns = view.namespace(cm) or "metallb-system"
                yield Finding(
                    "legacy-configmap",
                    ERR,
                    "Old MetalLB ConfigMap configuration found",
                    (ref(cm),),
                    "The ConfigMap format was removed in MetalLB v0.13; ironlb, like MetalLB, "
                    "ignores it, so the pools it describes do not exist.",
                    f"ironlb migrate-configmap --from-cluster --namespace {ns} "
                    f"--name {view.name(cm)} -o metallb.yaml && kubectl apply -f metallb.yaml "
                    f"&& kubectl -n {ns} delete configmap {view.name(cm)}",
                )


def _images(obj: dict) -> list[str]:
    template = (view.spec(obj).get("template") or {}).get("spec") or {}
    return [c.get("image", "") for c in template.get("containers") or []]


@check("metallb-installed")
def metallb_installed(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    for obj in snap.of("Deployment") + snap.of("DaemonSet"):
        lbl = view.labels(obj)
        if (
            any("metallb/" in img for img in _images(obj))
            or lbl.get("app.kubernetes.io/name") == "metallb"
            or lbl.get("app") == "metallb"
        ):
            yield Finding(
                "metallb-installed",
                ERR,
                "MetalLB is installed beside ironlb",
                (ref(obj),),
                "Both would assign and announce the same Services' addresses and fight over "
                "their status.",
                "Uninstall MetalLB (helm uninstall metallb -n metallb-system, or delete its "
                "manifests); ironlb reads the same metallb.io resources.",
            )


KLIPPER_LABEL = "svccontroller.k3s.cattle.io/svcname"


@check("klipper")
def klipper(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    svclb = [
        ref(o)
        for o in snap.of("DaemonSet") + snap.of("Pod")
        if view.name(o).startswith("svclb-") or KLIPPER_LABEL in view.labels(o)
    ]
    svclb += [f"Node {view.name(n)}" for n in snap.of("Node") if _k3s_server_with_servicelb(n)]
    if svclb:
        yield Finding(
            "klipper-active",
            ERR,
            "k3s Klipper ServiceLB is active",
            tuple(sorted(set(svclb))),
            "Klipper also handles LoadBalancer Services: it writes node IPs into their status "
            "and both implementations fight over them.",
            "Restart k3s with `--disable servicelb` (or `disable: [servicelb]` in "
            "/etc/rancher/k3s/config.yaml); the ironlb k3s role always does this.",
        )
    yield from _foreign_status(snap, opts)


def _k3s_server_with_servicelb(node: dict) -> bool:
    """A k3s server whose arguments (the `k3s.io/node-args` annotation k3s writes, flags and
    config file merged) leave ServiceLB on: it hands out node IPs as soon as a Service asks,
    even before any svclb DaemonSet exists."""
    raw = ((node.get("metadata") or {}).get("annotations") or {}).get("k3s.io/node-args")
    try:
        args = json.loads(raw) if raw else None
    except ValueError:
        return False
    if not isinstance(args, list) or not args or args[0] != "server":
        return False  # agents do not run the ServiceLB controller
    disabled: set[str] = set()
    for i, arg in enumerate(args):
        flag, eq, value = str(arg).partition("=")
        if flag in ("--disable", "--no-deploy"):
            value = value if eq else str(args[i + 1]) if i + 1 < len(args) else ""
            disabled.update(v.strip() for v in value.split(","))
    return "servicelb" not in disabled


def _foreign_status(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    all_pools = view.pools(snap)
    if not all_pools:
        return
    for svc in snap.of("Service"):
        if not view.is_our_service(svc, opts.lb_class):
            continue
        outside = [ip for ip in view.ingress_ips(svc) if not any(p.contains(ip) for p in all_pools)]
        if outside:
            yield Finding(
                "foreign-status-writer",
                WARN,
                f"{ref(svc)} has an external IP outside every IPAddressPool",
                (ref(svc),),
                f"{', '.join(outside)} was not assigned by ironlb: another load-balancer "
                "implementation (Klipper, a cloud controller, MetalLB) writes this status.",
                "Remove the other implementation, or give the Service a spec.loadBalancerClass "
                "that ironlb does not serve.",
            )


@check("pool-capacity")
def pool_capacity(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    all_pools = view.pools(snap)
    used = view.addresses_in_use(snap, all_pools)
    for pool in all_pools:
        for family in (4, 6):
            size = pool.size(family)
            count = len(used.get((pool.name, family), ()))
            if size and count / size >= opts.exhaustion_threshold:
                yield _capacity_finding(pool, family, count, size)


def _capacity_finding(pool: view.Pool, family: int, count: int, size: int) -> Finding:
    full = count >= size
    return Finding(
        "pool-exhausted" if full else "pool-nearly-exhausted",
        ERR if full else WARN,
        f"IPAddressPool {pool.name} IPv{family}: {count} of {size} addresses in use",
        (ref(pool.obj),),
        "New LoadBalancer Services asking this pool will stay <pending>."
        if full
        else "The pool is close to running out; new Services will soon stay <pending>.",
        f"Add addresses to spec.addresses of {pool.name} (or another pool the Services may "
        "use) and alert on ironlb_controller_addresses_available.",
    )


@check("services-pending")
def services_pending(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    for svc in snap.of("Service"):
        if not view.is_our_service(svc, opts.lb_class) or view.ingress_ips(svc):
            continue
        warnings = [e for e in view.events_for(snap, svc) if e.get("type") == "Warning"]
        why = (
            f"{warnings[-1].get('reason')}: {warnings[-1].get('message')}"
            if warnings
            else "no address assigned and no Event explains why (is the controller running?)"
        )
        yield Finding(
            "service-pending",
            WARN,
            f"{ref(svc)} has no external IP",
            (ref(svc),),
            why,
            "Fix the cause above (a free address in a pool the Service may use, a valid "
            "requested IP or pool name); `kubectl describe service` shows the Events.",
        )


DUPLICATE_REASONS = {
    "DuplicateAddress",
    "DuplicateAddressDetected",
    "AddressConflict",
    "IPConflict",
}


@check("duplicate-address")
def duplicate_address(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for event in snap.of("Event"):
        if event.get("reason") not in DUPLICATE_REASONS:
            continue
        key = (_involved(event), event.get("message", ""))
        if key in seen or _announced_since(snap, event):
            continue
        seen.add(key)
        node = (event.get("source") or {}).get("host") or event.get("reportingInstance") or "?"
        yield Finding(
            "duplicate-address",
            ERR,
            "A Service address is already used by another host on the LAN",
            (key[0], f"Node {node}"),
            f"{event.get('message', '')} — usually the pool overlaps the DHCP range or a static "
            "host.",
            "Move the IPAddressPool out of the DHCP scope (coordinate with the network team), "
            "or remove the other host's address.",
        )


def _announced_since(snap: Snapshot, event: dict) -> bool:
    """A speaker announced the Service after the conflict: the rogue host is gone, and the
    Event (kept for its TTL, an hour by default) is history, not a finding."""
    inv = event.get("involvedObject") or {}
    last = str(event.get("lastTimestamp") or event.get("eventTime") or "")
    for st in snap.of("ServiceL2Status"):
        status = st.get("status") or {}
        created = str((st.get("metadata") or {}).get("creationTimestamp") or "")
        if (
            status.get("serviceNamespace") == inv.get("namespace")
            and status.get("serviceName") == inv.get("name")
            and last
            and created > last  # RFC 3339 UTC strings order like the times they name
        ):
            return True
    return False


@check("l2-concentration")
def l2_concentration(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    statuses = snap.of("ServiceL2Status")
    nodes = Counter((s.get("status") or {}).get("node") for s in statuses)
    nodes.pop(None, None)
    total = sum(nodes.values())
    ready = [n for n in snap.of("Node")] or list(nodes)
    if total < 3 or len(ready) < 2:
        return
    node, count = nodes.most_common(1)[0]
    if count / total >= opts.l2_share_threshold:
        share = ", ".join(f"{n}: {c}" for n, c in nodes.most_common())
        yield Finding(
            "l2-concentration",
            INFO if count / total < 0.9 else WARN,
            f"Node {node} announces {count} of {total} L2 Service addresses",
            tuple(f"Node {n}" for n in nodes),
            f"In L2 mode all traffic for an address enters through one node (per node: {share}); "
            "L2 gives failover, not load spreading.",
            "Use BGP mode (BGPPeer + BGPAdvertisement) with ECMP on the router to spread traffic.",
        )


@check("bgp-sessions")
def bgp_sessions(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    for state in snap.of("BGPSessionState"):
        yield from _session_findings(state)
    seen: set[tuple[str, str, str, str]] = set()
    for event in snap.of("Event"):
        reason = event.get("reason", "")
        host = (event.get("source") or {}).get("host", "")
        key = (reason, _involved(event), event.get("message", ""), host)
        if reason not in BGP_EVENTS or key in seen:
            continue
        seen.add(key)
        yield _bgp_event_finding(event)


def _session_findings(state: dict) -> Iterator[Finding]:
    status = state.get("status") or {}
    bgp, bfd = status.get("bgpStatus"), status.get("bfdStatus")
    address = f" ({status['peerAddress']})" if status.get("peerAddress") else ""
    peer = f"{status.get('node', '?')} -> {status.get('peer', view.name(state))}{address}"
    last = status.get("lastDownReason")
    because = f" Last down: {last}." if last else ""
    objects = (ref(state), f"BGPPeer {view.namespace(state)}/{status.get('peer', '?')}")
    if bgp and bgp != "Established":
        yield Finding(
            "bgp-session-down",
            ERR,
            f"BGP session {peer} is {bgp}",
            objects,
            "Routes from this node are not on the router, so ECMP skips it." + because,
            "Check myASN/peerASN/peerAddress/password of the BGPPeer against the switch "
            "(ironlb.baremetal.switch_bgp renders the switch side).",
        )
    if bfd and bfd not in ("Up", "N/A", ""):
        yield Finding(
            "bfd-down",
            ERR,
            f"BFD session {peer} is {bfd}",
            objects,
            "BGP came back over TCP but BFD is still down: a link or node failure on this path "
            "is now noticed only when the hold timer expires."
            if bgp == "Established"
            else "A BFD down takes the BGP session down with it.",
            "Check the BFDProfile timers and that the router runs BFD for this neighbor.",
        )


BGP_EVENTS = ("BGPSessionDown", "BFDDown", "PrefixesRejected")


def _bgp_event_finding(event: dict) -> Finding:
    reason, message = event.get("reason", ""), event.get("message", "")
    node = (event.get("source") or {}).get("host") or "?"
    if reason == "PrefixesRejected":
        return Finding(
            "prefixes-rejected",
            ERR,
            f"The router refused the Service routes from node {node}",
            (_involved(event), f"Node {node}"),
            f"{message} — the router closed the session over what ironlb announced.",
            "On the switch, raise the neighbor's maximum-prefix limit above the number of "
            "Service addresses, and let its import filter accept the IPAddressPool prefixes "
            "(ironlb.baremetal.switch_bgp builds that filter from the pools).",
        )
    return Finding(
        "bgp-event",
        WARN,
        f"{reason} on node {node}: {message}",
        (_involved(event), f"Node {node}"),
        "A speaker reported a BGP problem (it may have recovered since: see the sessions).",
        "Compare the BGPPeer with the router's neighbor configuration.",
    )


@check("kube-proxy-strictarp")
def kube_proxy_strict_arp(snap: Snapshot, opts: Options) -> Iterator[Finding]:
    for cm in snap.of("ConfigMap"):
        if view.name(cm) != "kube-proxy" or view.namespace(cm) not in ("kube-system", ""):
            continue
        text = (cm.get("data") or {}).get("config.conf")
        if not text:
            continue
        try:
            conf = yamlio.load(text) or {}
        except Exception:  # a broken kube-proxy config is kube-proxy's problem to report
            continue
        if conf.get("mode") == "ipvs" and not (conf.get("ipvs") or {}).get("strictARP"):
            yield Finding(
                "ipvs-without-strictarp",
                ERR if snap.of("L2Advertisement") else WARN,
                "kube-proxy uses IPVS without strictARP",
                (ref(cm),),
                "In IPVS mode every node answers ARP for every Service address on kube-ipvs0, "
                "so L2 announcements from the elected node are contradicted.",
                "kubectl -n kube-system edit configmap kube-proxy: set ipvs.strictARP: true, then "
                "restart kube-proxy (the ironlb kubeadm role sets it).",
            )


def _involved(event: dict) -> str:
    inv = event.get("involvedObject") or {}
    return f"{inv.get('kind')} {inv.get('namespace')}/{inv.get('name')}"
