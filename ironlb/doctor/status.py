"""`ironlb status` tables built from a snapshot: Services, pools, BGP sessions. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from ironlb.doctor import view
from ironlb.doctor.snapshot import Snapshot


@dataclass(frozen=True)
class ServiceRow:
    service: str
    addresses: str
    pool: str
    mode: str
    announced_by: str
    since: str
    last_change: str


@dataclass(frozen=True)
class PoolRow:
    pool: str
    family: str
    in_use: int
    size: int

    @property
    def percent(self) -> str:
        return f"{100 * self.in_use / self.size:.1f}%" if self.size else "-"


def service_rows(snap: Snapshot, lb_class: str | None = None) -> list[ServiceRow]:
    all_pools = view.pools(snap)
    l2 = view.advertised_pools(snap, "L2Advertisement")
    bgp = view.advertised_pools(snap, "BGPAdvertisement")
    rows = []
    for svc in sorted(snap.of("Service"), key=lambda s: (view.namespace(s), view.name(s))):
        if not view.is_our_service(svc, lb_class):
            continue
        pool = view.service_pool(svc, all_pools)
        modes = [m for m, names in (("L2", l2), ("BGP", bgp)) if pool and pool.name in names]
        events = view.events_for(snap, svc)
        last = events[-1] if events else {}
        rows.append(
            ServiceRow(
                service=f"{view.namespace(svc)}/{view.name(svc)}",
                addresses=",".join(view.ingress_ips(svc)) or "<pending>",
                pool=pool.name if pool else "-",
                mode="+".join(modes) or ("-" if not pool else "none"),
                announced_by=_announcers(snap, svc) or "-",
                since=str(last.get("lastTimestamp") or last.get("eventTime") or "-"),
                last_change=f"{last.get('reason')}: {last.get('message')}" if last else "-",
            )
        )
    return rows


def _announcers(snap: Snapshot, svc: dict) -> str:
    ns, name = view.namespace(svc), view.name(svc)
    found = []
    for st in snap.of("ServiceL2Status") + snap.of("ServiceBGPStatus"):
        status = st.get("status") or {}
        if status.get("serviceName") == name and status.get("serviceNamespace") == ns:
            peers = status.get("peers")
            node = status.get("node", "?")
            found.append(f"{node} (peers: {','.join(peers)})" if peers else node)
    return ", ".join(sorted(found))


@dataclass(frozen=True)
class SessionRow:
    node: str
    peer: str
    address: str
    bgp: str
    bfd: str
    last_down: str


def session_rows(snap: Snapshot) -> list[SessionRow]:
    """One row per BGPSessionState (node → BGPPeer), as the speakers last wrote them."""
    rows = []
    for state in snap.of("BGPSessionState"):
        st = state.get("status") or {}
        rows.append(
            SessionRow(
                node=st.get("node", "?"),
                peer=st.get("peer", "?"),
                address=st.get("peerAddress", "-"),
                bgp=st.get("bgpStatus", "?"),
                bfd=st.get("bfdStatus", "N/A"),
                last_down=st.get("lastDownReason", "") or "-",
            )
        )
    return sorted(rows, key=lambda r: (r.node, r.peer))


def pool_rows(snap: Snapshot) -> list[PoolRow]:
    all_pools = view.pools(snap)
    used = view.addresses_in_use(snap, all_pools)
    rows = []
    for pool in sorted(all_pools, key=lambda p: p.name):
        for family in (4, 6):
            size = pool.size(family)
            if size:
                count = len(used.get((pool.name, family), ()))
                rows.append(PoolRow(pool.name, f"IPv{family}", count, size))
    return rows
