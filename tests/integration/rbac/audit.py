"""Least-privilege audit of the ironlb role's RBAC (a tool, not a test: ~20 s per grant).

For every verb of every rule, and every resource of a rule naming several, drop just that
grant, run the real controller and speaker against a real kube-apiserver (RBAC enforced, a fresh
one per run) for a while
(assign, announce over L2 and BGP, then delete the Service) and report whether a 403
appeared. "unused" means this scenario never needed the grant, not that no code path does.

    sudo .venv/bin/python -m tests.integration.rbac.audit [--seconds 12] [--only ROLE]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ironlb.kube.resources import SERVICES
from ironlb.netns import Topology, cleanup_stale
from tests.integration.rbac import harness
from tests.plugins.kubeapi import KubeApiServer, resolve_binaries

Docs = list[dict[str, Any]]


def mutations(docs: Docs, only: str | None) -> Iterator[tuple[str, Docs]]:
    for di, doc in enumerate(docs):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        if "rules" not in doc or (only and only not in name):
            continue
        for ri, rule in enumerate(doc["rules"]):
            what = f"{name} {rule['apiGroups']} {rule['resources']}"
            for verb in rule["verbs"]:
                out = copy.deepcopy(docs)
                out[di]["rules"][ri]["verbs"].remove(verb)
                yield f"{what} -{verb}", out
            if len(rule["resources"]) > 1:
                for res in rule["resources"]:
                    out = copy.deepcopy(docs)
                    out[di]["rules"][ri]["resources"].remove(res)
                    yield f"{what} -resource {res}", out


def run(docs: Docs, seconds: float) -> dict[str, list[str]]:
    harness.rendered_rbac = lambda: docs  # type: ignore[assignment]
    workdir = Path(tempfile.mkdtemp(prefix="ironlb-rbac-audit-"))
    binaries = resolve_binaries()
    if isinstance(binaries, str):
        raise SystemExit(f"no kube-apiserver: {binaries}")
    server = KubeApiServer(binaries, workdir / "kubeapi").start()
    cleanup_stale("ilb-rb")
    topo = Topology.from_dict({"lan": (harness.NODE, "peer")}, prefix="ilb-rb")
    lab = harness.RbacLab(server, topo, workdir)
    try:
        lab.apply_rbac()
        lab.seed()
        lab.start_controller()
        lab.build_network()
        lab.start_speaker()
        time.sleep(seconds)
        lab.admin.delete(SERVICES, "web", harness.APP_NS)
        time.sleep(4)
        return {n: harness.forbidden_lines(lab.log(n))[:1] for n in ("controller", "speaker")}
    finally:
        lab.close()
        topo.teardown()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--only", help="only roles whose Kind/name contains this")
    args = parser.parse_args(argv)
    docs = harness.rendered_rbac()
    baseline = run(docs, args.seconds)
    if any(baseline.values()):
        print(f"the unmodified role already gets a 403: {baseline}")
        return 1
    for label, mutated in mutations(docs, args.only):
        found = run(mutated, args.seconds)
        needed = any(found.values())
        line = {
            "grant": label,
            "needed": needed,
            "403": [x[-240:] for v in found.values() for x in v],
        }
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
