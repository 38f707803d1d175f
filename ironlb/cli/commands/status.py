"""`ironlb status`: LoadBalancer Services and pool utilisation at a glance."""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from ironlb.doctor.snapshot import Snapshot
from ironlb.doctor.status import pool_rows, service_rows, session_rows


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "status",
        help="table of LoadBalancer Services, pool utilisation and BGP sessions",
        description="Show every LoadBalancer Service ironlb serves (addresses, pool, mode, "
        "announcing nodes/peers, last change), per-pool utilisation per family, and each "
        "node's BGP/BFD session to each BGPPeer (from BGPSessionState).",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig (default: $KUBECONFIG, in-cluster)")
    parser.add_argument("--offline", nargs="+", metavar="FILE", help="read manifests instead")
    parser.add_argument("--lb-class", help="the loadBalancerClass ironlb serves, if any")
    parser.add_argument("-w", "--watch", action="store_true", help="refresh until Ctrl-C")
    parser.add_argument("--interval", type=float, default=2.0, help="--watch refresh seconds")
    parser.set_defaults(func=run)


def build_tables(snap: Snapshot, lb_class: str | None) -> Group:
    services = Table(title="LoadBalancer Services", title_justify="left")
    for col in ("SERVICE", "ADDRESSES", "POOL", "MODE", "ANNOUNCED BY", "SINCE", "LAST CHANGE"):
        services.add_column(col, overflow="fold")
    for row in service_rows(snap, lb_class):
        services.add_row(
            row.service,
            row.addresses,
            row.pool,
            row.mode,
            row.announced_by,
            row.since,
            row.last_change,
        )
    pools = Table(title="Pools", title_justify="left")
    for col in ("POOL", "FAMILY", "IN USE", "SIZE", "USED"):
        pools.add_column(col, justify="right" if col in ("IN USE", "SIZE", "USED") else "left")
    for prow in pool_rows(snap):
        pools.add_row(prow.pool, prow.family, str(prow.in_use), str(prow.size), prow.percent)
    sessions = session_rows(snap)
    if not sessions:
        return Group(services, pools)
    table = Table(title="BGP sessions", title_justify="left")
    for col in ("NODE", "PEER", "ADDRESS", "BGP", "BFD", "LAST DOWN"):
        table.add_column(col, overflow="fold")
    for srow in sessions:
        style = None if srow.bgp == "Established" else "red"
        cells = (srow.node, srow.peer, srow.address, srow.bgp, srow.bfd, srow.last_down)
        table.add_row(*cells, style=style)
    return Group(services, pools, table)


def _read(args: argparse.Namespace, kube: object | None) -> Snapshot:
    if args.offline:
        return Snapshot.from_files(args.offline)
    return Snapshot.from_cluster(kube)


def run(args: argparse.Namespace) -> int:
    kube = None
    if not args.offline:
        from ironlb.kube.client import Kube, load_api_client

        kube = Kube(load_api_client(args.kubeconfig))
    # Piped output is read by scripts and grep: do not fold rows to 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 200)
    if not args.watch:
        console.print(build_tables(_read(args, kube), args.lb_class))
        return 0
    with Live(console=console, auto_refresh=False) as live:
        while True:
            live.update(build_tables(_read(args, kube), args.lb_class), refresh=True)
            time.sleep(args.interval)
