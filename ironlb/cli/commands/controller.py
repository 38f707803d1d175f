"""`ironlb controller`: assign addresses to LoadBalancer Services (MetalLB-compatible)."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket

from ironlb.log import configure_logging, get_logger

log = get_logger("controller")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "controller",
        help="run the controller (IP address allocation for LoadBalancer Services)",
        description=__doc__,
    )
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, in-cluster)")
    p.add_argument(
        "--namespace",
        default=os.environ.get("METALLB_NAMESPACE", "metallb-system"),
        help="namespace holding the metallb.io objects (default: %(default)s)",
    )
    p.add_argument(
        "--lb-class",
        default=None,
        help="spec.loadBalancerClass to serve, besides Services with none",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=7472,
        help="port for /metrics, /healthz, /readyz (0: any free port; default: %(default)s)",
    )
    p.add_argument("--metrics-host", default="0.0.0.0", help="address for the metrics server")
    p.add_argument(
        "--leader-elect",
        action="store_true",
        help="run as one of several replicas; only the Lease holder assigns",
    )
    p.add_argument(
        "--identity",
        default=os.environ.get("POD_NAME") or socket.gethostname(),
        help="leader-election identity (default: $POD_NAME or the hostname)",
    )
    p.add_argument("--lease-name", default="ironlb-controller", help="Lease object name")
    p.add_argument(
        "--lease-duration",
        type=float,
        default=6.0,
        help="seconds a dead leader's Lease is honoured (default 6: takeover in ~7 s)",
    )
    p.add_argument("--renew-deadline", type=float, default=4.0, help="seconds (default 4)")
    p.add_argument("--retry-period", type=float, default=1.0, help="seconds (default 1)")
    p.add_argument("--workers", type=int, default=4, help="concurrent Service reconciles")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.app import ControllerOptions, run_controller
    from ironlb.kube import load_api_client

    configure_logging(args.log_level)
    try:
        api_client = load_api_client(args.kubeconfig)
    except Exception as exc:  # a missing or broken kubeconfig is the user's to fix
        log.error("controller.kubeconfig", error=f"{type(exc).__name__}: {exc}")
        return 2
    options = ControllerOptions(
        namespace=args.namespace,
        lb_class=args.lb_class,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        leader_elect=args.leader_elect,
        identity=args.identity,
        lease_name=args.lease_name,
        lease_duration=args.lease_duration,
        renew_deadline=args.renew_deadline,
        retry_period=args.retry_period,
        workers=args.workers,
    )
    try:
        return asyncio.run(run_controller(api_client, options))
    except KeyboardInterrupt:
        return 130
    finally:
        api_client.close()
