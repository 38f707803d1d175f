"""`ironlb doctor`: find and explain the classic bare-metal load-balancing mistakes."""

from __future__ import annotations

import argparse
import sys

import yaml

from ironlb.doctor import diagnose
from ironlb.doctor.checks import Options
from ironlb.doctor.render import render_json, render_text
from ironlb.doctor.snapshot import Snapshot
from ironlb.kube.errors import ApiError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "doctor",
        help="check a cluster or manifests for common load-balancer mistakes",
        description=(
            "Check the cluster (KUBECONFIG) or, with --offline, manifest files for the classic "
            "mistakes: pools without advertisement, old ConfigMap config, MetalLB or k3s "
            "Klipper beside ironlb, pool exhaustion, pending Services, duplicate addresses, "
            "L2 concentration, BGP/BFD down, IPVS without strictARP. Exit code: 0 healthy, "
            "1 warnings, 2 errors."
        ),
    )
    parser.add_argument("--offline", nargs="+", metavar="FILE", help="check manifest files/dirs")
    parser.add_argument("--kubeconfig", help="kubeconfig (default: $KUBECONFIG, in-cluster)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.add_argument(
        "--exhaustion-threshold",
        type=float,
        default=0.8,
        help="warn when a pool family is at least this fraction used (default 0.8)",
    )
    parser.add_argument("--lb-class", help="the loadBalancerClass ironlb serves, if any")
    parser.set_defaults(func=run)


def _snapshot(args: argparse.Namespace) -> Snapshot:
    if args.offline:
        return Snapshot.from_files(args.offline)
    from ironlb.kube.client import Kube, load_api_client

    return Snapshot.from_cluster(Kube(load_api_client(args.kubeconfig)))


def run(args: argparse.Namespace) -> int:
    if not 0 < args.exhaustion_threshold <= 1:
        print("error: --exhaustion-threshold must be in (0, 1]", file=sys.stderr)
        return 2
    try:
        snap = _snapshot(args)
    except (OSError, yaml.YAMLError, ApiError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = diagnose(snap, Options(args.lb_class, args.exhaustion_threshold))
    (render_json if args.output == "json" else render_text)(report, sys.stdout)
    return report.exit_code()
