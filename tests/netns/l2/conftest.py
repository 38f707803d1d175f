"""Fixture: an L2 lab (bridge, 3 node namespaces with speakers, a client) on the real
kube-apiserver (tests/plugins/kubeapi.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ironlb.kube.client import Kube
from tests.netns.l2.harness import NODES3, L2Lab

PREFIX = "ilb-l2"


@pytest.fixture
def l2lab_factory(
    netns_topology: Callable[..., object], apiserver: Any, kube_namespace: str, tmp_path: Path
) -> Iterator[Callable[..., L2Lab]]:
    if shutil.which("socat") is None:
        pytest.skip("needs socat (Debian package socat) to reach the apiserver from namespaces")
    labs: list[L2Lab] = []

    def build(
        extra_hosts: tuple[str, ...] = (), start: bool = True, bgp: bool = False, pods: bool = False
    ) -> L2Lab:
        topo = netns_topology(L2Lab.spec(NODES3, extra_hosts), prefix=PREFIX)
        kube = Kube(apiserver.api_client())
        lab = L2Lab(
            topo, kube, apiserver.url, apiserver.kubeconfig, tmp_path, NODES3, extra_hosts,
            app_ns=kube_namespace,
        )  # fmt: skip
        labs.append(lab)
        lab.bgp = bgp
        lab.pods = pods
        lab.build_network()
        lab.start_api_forwarders()
        lab.start_servers()
        lab.seed()
        if start:
            lab.start_speakers()
        return lab

    try:
        yield build
    finally:
        for lab in labs:
            lab.close()


def dump_logs(lab: L2Lab) -> str:
    return "\n".join(f"--- {n}\n{lab.speaker_log(n)[-3000:]}" for n in lab.nodes)
