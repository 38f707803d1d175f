"""`ironlb lab up|down|status`: the one-box lab built from network namespaces."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ironlb.lab.layout import Layout


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    # The lab is not part of the image (tools/images/build leaves ironlb.lab out): no
    # `lab` command there, and nothing of the lab imported until a lab command runs.
    if importlib.util.find_spec("ironlb.lab") is None:
        return
    lab = subparsers.add_parser("lab", help="build, run and remove the namespace lab")
    lab.add_argument("--prefix", default=None, help=argparse.SUPPRESS)
    lab.add_argument("--state-dir", default=None, help=argparse.SUPPRESS)
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION")
    up = sub.add_parser(
        "up", help="build the lab's machines (with --rollout: site.yml makes the cluster on them)"
    )
    up.add_argument("--mode", choices=("l2", "bgp", "both"), default="both")
    up.add_argument("--rollout", action="store_true", help="run playbooks/site.yml on the lab")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="remove every namespace and process the lab made")
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="show the lab's namespaces, processes and Services")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    lab.set_defaults(func=lambda args: (lab.print_help(), 2)[1])


def _layout(args: argparse.Namespace) -> Layout:
    from ironlb.lab.layout import DEFAULT_PREFIX, Layout

    state_dir = Path(args.state_dir) if args.state_dir else None
    return Layout.for_prefix(args.prefix or DEFAULT_PREFIX, state_dir)


def cmd_up(args: argparse.Namespace) -> int:
    from ironlb.lab import cluster, rollout
    from ironlb.lab.shell import LabError
    from ironlb.netns.peers.frr import FrrError
    from ironlb.netns.peers.sshd import SshdError

    console = Console()
    layout = _layout(args)
    try:
        with console.status("building the lab") as status:
            cluster.up(layout, step=lambda msg: _step(console, status, msg))
        console.print(f"[green]lab up[/]: nodes, ToR, registry and client ready ({layout.prefix})")
        if not args.rollout:
            console.print(
                "  the cluster comes from the rollout: "
                "ansible-playbook -i inventory/lab playbooks/site.yml"
            )
            console.print(f"  then: kubectl --kubeconfig {layout.kubeconfig} get nodes")
            return 0
        modes = ["l2", "bgp"] if args.mode == "both" else [args.mode]
        for mode in modes:
            result = rollout.run_site(layout, mode, console)
            rollout.show(result, console)
            if not result.ok:
                return 1
        _show_cluster(console, layout)
        return 0
    except (LabError, FrrError, SshdError, OSError, subprocess.TimeoutExpired) as exc:
        # `cluster.up` has already removed what it made.
        console.print(f"[red]lab up failed[/]: {exc}")
        return 1


def _show_cluster(console: Console, layout: Layout) -> None:
    """The seed's success criterion, as kubectl shows it."""
    from ironlb.lab import cluster
    from ironlb.lab.shell import LabError

    console.print(f"\n$ export KUBECONFIG={layout.kubeconfig}")
    for args in (
        ("get", "nodes", "-o", "wide"),
        ("-n", "metallb-system", "get", "pods", "-o", "wide"),
    ):
        console.print(f"$ kubectl {' '.join(args)}")
        try:
            console.print(cluster.kubectl(layout, *args), markup=False, highlight=False)
        except LabError as exc:
            console.print(f"[red]{exc}[/]")


def _step(console: Console, status: object, msg: str) -> None:
    console.print(f"  [cyan]•[/] {msg}")
    update = getattr(status, "update", None)
    if update is not None:
        update(msg)


def cmd_down(args: argparse.Namespace) -> int:
    from ironlb.lab import cluster

    console = Console()
    layout = _layout(args)
    removed = cluster.down(layout, step=lambda msg: console.print(f"  [cyan]•[/] {msg}"))
    left = cluster.leftovers(layout)
    console.print(f"removed {len(removed)} item(s)")
    if left:
        console.print(f"[red]still present[/]: {', '.join(left)}")
        return 1
    console.print("[green]lab down[/]: nothing left")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ironlb.lab import cluster, topology
    from ironlb.lab.shell import LabError
    from ironlb.lab.state import LabState

    console = Console()
    layout = _layout(args)
    state = LabState.load(layout.state_file)
    namespaces = topology.existing_netns(layout.prefix)
    procs = {
        name: cluster.process_alive(pid) for name, pid in (state.pids if state else {}).items()
    }
    services: list[dict] = []
    if state is not None:
        try:
            out = cluster.kubectl(layout, "get", "services", "-A", "-o", "json")
            services = json.loads(out).get("items", [])
        except LabError:
            services = []
    if args.json:
        print(
            json.dumps(
                {
                    "up": state is not None,
                    "namespaces": namespaces,
                    "processes": procs,
                    "services": [_svc_row(s) for s in services],
                }
            )
        )
        return 0 if state is not None else 1
    if state is None:
        console.print(
            f"no lab with prefix {layout.prefix} ({len(namespaces)} namespace(s) left over)"
        )
        return 1
    table = Table(title=f"lab {layout.prefix}")
    table.add_column("process")
    table.add_column("state")
    for name, alive in sorted(procs.items()):
        table.add_row(name, "[green]running[/]" if alive else "[red]gone[/]")
    console.print(table)
    console.print(f"namespaces: {', '.join(namespaces)}")
    svc_table = Table(title="LoadBalancer Services")
    for col in ("namespace", "name", "external IP", "ports"):
        svc_table.add_column(col)
    for svc in services:
        row = _svc_row(svc)
        if row["type"] == "LoadBalancer":
            svc_table.add_row(
                row["namespace"], row["name"], row["external"] or "<pending>", row["ports"]
            )
    console.print(svc_table)
    return 0 if all(procs.values()) else 1


def _svc_row(svc: dict) -> dict:
    ingress = (svc.get("status", {}).get("loadBalancer", {}) or {}).get("ingress") or []
    return {
        "namespace": svc["metadata"]["namespace"],
        "name": svc["metadata"]["name"],
        "type": svc.get("spec", {}).get("type", ""),
        "external": ",".join(i.get("ip", "") for i in ingress),
        "ports": ",".join(str(p.get("port")) for p in svc.get("spec", {}).get("ports", []) or []),
    }
