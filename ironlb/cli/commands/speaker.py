"""`ironlb speaker`: the per-node speaker (membership, election, L2 ARP/NDP, BGP)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from ironlb.log import configure_logging, get_logger

log = get_logger("speaker")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--node-name",
        default=env("NODE_NAME") or env("METALLB_NODE_NAME"),
        help="this node's name (default: $NODE_NAME, as the DaemonSet sets it)",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig (default: $KUBECONFIG, in-cluster)")
    parser.add_argument("--namespace", default=env("NAMESPACE", "metallb-system"))
    parser.add_argument(
        "--memberlist-secret",
        default="memberlist",
        help="Secret holding the shared heartbeat key (data.secretkey), in --namespace",
    )
    parser.add_argument("--memberlist-secret-key", default="secretkey", help=argparse.SUPPRESS)
    parser.add_argument(
        "--bind-address",
        default="0.0.0.0",
        help="address for the membership UDP socket (default: all)",
    )
    parser.add_argument("--member-port", type=int, default=7946, help="membership UDP port")
    parser.add_argument("--metrics-address", default="0.0.0.0")
    parser.add_argument("--metrics-port", type=int, default=7472)
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=0.05,
        help="seconds between heartbeats (default 0.05)",
    )
    parser.add_argument(
        "--suspect-timeout",
        type=float,
        default=0.25,
        help="a peer silent this long is down (default 0.25)",
    )
    parser.add_argument(
        "--interface",
        action="append",
        default=[],
        help="only open raw sockets on these interfaces (repeatable; default: all Ethernet)",
    )
    parser.add_argument(
        "--handover", type=float, default=0.2, help="seconds to keep answering after LEAVE"
    )
    parser.add_argument("--lb-class", help="serve only Services with this loadBalancerClass")
    parser.add_argument("--no-bgp", action="store_true", help="L2 only")
    parser.add_argument(
        "--pod-name",
        default=env("POD_NAME"),
        help="this speaker's Pod (default $POD_NAME): owner of its status objects",
    )
    parser.add_argument("--pod-uid", default=env("POD_UID"), help="its uid (default $POD_UID)")
    parser.add_argument(
        "--realtime-priority",
        type=int,
        default=10,
        help=(
            "run the answering loop at SCHED_FIFO with this priority (default 10; 0: off). "
            "Without CAP_SYS_NICE it logs a warning and runs at normal priority"
        ),
    )
    parser.add_argument("--log-level", default="info")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "speaker",
        help="run the per-node speaker",
        description=(
            "Run one speaker per node (host network): it watches Services, EndpointSlices, "
            "Nodes and the metallb.io configuration, keeps signed UDP heartbeats with the "
            "other speakers, and announces the addresses it is elected for over ARP/NDP "
            "(and BGP)."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from speaker.app import Speaker, SpeakerOptions, StartupError

    configure_logging(args.log_level)
    if not args.node_name:
        print("ironlb speaker: --node-name (or $NODE_NAME) is required", file=sys.stderr)
        return 2
    try:
        opts = SpeakerOptions(
            node_name=args.node_name,
            namespace=args.namespace,
            kubeconfig=args.kubeconfig,
            memberlist_secret=args.memberlist_secret,
            secret_field=args.memberlist_secret_key,
            bind_address=args.bind_address,
            member_port=args.member_port,
            metrics_address=args.metrics_address,
            metrics_port=args.metrics_port,
            interval=args.heartbeat_interval,
            suspect_timeout=args.suspect_timeout,
            interfaces=tuple(args.interface),
            handover=args.handover,
            load_balancer_class=args.lb_class,
            bgp=not args.no_bgp,
            realtime_priority=args.realtime_priority,
            pod_name=args.pod_name,
            pod_uid=args.pod_uid,
        )
        if not 0 < opts.interval < opts.suspect_timeout:
            raise StartupError("--heartbeat-interval must be > 0 and < --suspect-timeout")
        return asyncio.run(Speaker(opts).run())
    except StartupError as err:
        log.error("speaker.startup_failed", error=str(err))
        print(f"ironlb speaker: {err}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ironlb speaker")
    add_arguments(parser)
    return run(parser.parse_args(argv))
