"""`ironlb migrate-configmap`: legacy MetalLB ConfigMap → metallb.io manifests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from ironlb.kube.errors import ApiError
from ironlb.migrate.configmap import MigrationError, migrate_configmap


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "migrate-configmap",
        help="convert a MetalLB ConfigMap configuration into metallb.io manifests",
        description=(
            "Read a MetalLB ConfigMap-format configuration (a file, '-' for stdin, or the "
            "cluster's metallb-system/config) and write the equivalent metallb.io manifests. "
            "Options without an exact equivalent are reported as warnings on stderr."
        ),
    )
    parser.add_argument("file", nargs="?", help="ConfigMap manifest or bare config YAML")
    parser.add_argument("--from-cluster", action="store_true", help="read it from the cluster")
    parser.add_argument("--kubeconfig", help="kubeconfig for --from-cluster")
    parser.add_argument("--namespace", default="metallb-system")
    parser.add_argument("--name", default="config", help="ConfigMap name (Helm: metallb-config)")
    parser.add_argument("-o", "--output", help="write manifests here instead of stdout")
    parser.set_defaults(func=run)


def _read_source(args: argparse.Namespace) -> dict | str:
    if args.from_cluster:
        from ironlb.kube.client import CONFIGMAPS, Kube, NotFound, load_api_client

        kube = Kube(load_api_client(args.kubeconfig))
        try:
            return kube.get(CONFIGMAPS, args.name, args.namespace)
        except NotFound:
            raise MigrationError(
                f"ConfigMap {args.namespace}/{args.name} not found in the cluster"
            ) from None
    if not args.file:
        raise MigrationError("give a FILE, '-' for stdin, or --from-cluster")
    if args.file == "-":
        return sys.stdin.read()
    return Path(args.file).read_text()


def run(args: argparse.Namespace) -> int:
    try:
        result = migrate_configmap(_read_source(args))
    except (MigrationError, OSError, yaml.YAMLError, ApiError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    text = result.to_yaml()
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {len(result.manifests)} objects to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
