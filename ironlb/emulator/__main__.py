"""`python -m ironlb.emulator`: serve the Kubernetes API emulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ironlb.aio import install_signal_handlers
from ironlb.emulator.access import MODES
from ironlb.emulator.emulator import DEFAULT_SERVICE_CIDRS, Emulator
from ironlb.emulator.errors import ApiError
from ironlb.log import configure_logging, get_logger

log = get_logger("emulator")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="python -m ironlb.emulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="listen port (default: ephemeral)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for the emulator to this path")
    parser.add_argument(
        "--crds",
        action="append",
        default=[],
        metavar="DIR",
        help="register the YAML manifests (CRDs and objects) in DIR at start; repeatable",
    )
    parser.add_argument("--state", help="load objects from FILE at start, save them on stop")
    parser.add_argument(
        "--autosave",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="with --state, also save every SECONDS when something changed (0: only on stop)",
    )
    parser.add_argument(
        "--token",
        help="require this bearer token (default: no auth; with --authorization rbac: a random"
        " admin token, written to --kubeconfig)",
    )
    parser.add_argument(
        "--authorization",
        choices=MODES,
        default="allow-all",
        help="allow-all (default) or rbac: authenticate admin and ServiceAccount tokens and"
        " enforce the stored Roles/ClusterRoles/bindings",
    )
    parser.add_argument(
        "--sa-kubeconfig",
        action="append",
        default=[],
        metavar="NS/NAME=PATH",
        help="after start, mint a token for ServiceAccount NS/NAME (e.g. from a --crds"
        " manifest) and write a kubeconfig using it to PATH; repeatable",
    )
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed cert")
    parser.add_argument("--history", type=int, default=1000, help="watch history length")
    parser.add_argument(
        "--service-cidr",
        action="append",
        default=[],
        metavar="CIDR",
        help=f"ClusterIP range; repeat for dual-stack (default {DEFAULT_SERVICE_CIDRS[0]})",
    )
    parser.add_argument("--log-level", default="info")
    return parser


async def serve(args: argparse.Namespace) -> int:
    emulator = Emulator(
        host=args.host,
        port=args.port,
        token=args.token,
        tls=args.tls,
        history=args.history,
        service_cidrs=args.service_cidr or DEFAULT_SERVICE_CIDRS,
        state_file=args.state,
        crd_dirs=args.crds,
        autosave_interval=args.autosave,
        authorization=args.authorization,
    )
    await emulator.start()
    if args.kubeconfig:
        emulator.write_kubeconfig(args.kubeconfig)
    for spec in args.sa_kubeconfig:
        account, _, path = spec.partition("=")
        namespace, _, name = account.partition("/")
        if not (namespace and name and path):
            log.error("emulator.bad_argument", argument="--sa-kubeconfig", value=spec)
            await emulator.stop()
            return 2
        try:
            token = emulator.service_account_token(namespace, name)
        except ApiError as exc:
            log.error("emulator.sa_kubeconfig_failed", account=account, reason=exc.message)
            await emulator.stop()
            return 2
        emulator.write_kubeconfig(path, token)
    log.info("emulator.ready", url=emulator.url, kubeconfig=args.kubeconfig or "")
    done = asyncio.Event()

    async def on_term() -> None:
        done.set()

    install_signal_handlers(asyncio.get_running_loop(), on_term)
    await done.wait()
    await emulator.stop()
    log.info("emulator.stopped", state=args.state or "")
    return 0


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    return asyncio.run(serve(args))


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
