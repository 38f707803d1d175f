"""Network-namespace fixtures (owned by the netns work).

``netns_topology(spec, prefix=...)`` builds a :class:`ironlb.netns.Topology` and tears it down
after the test whatever happens; ``netns_topology_module`` does the same once per module.
Every caller passes its own prefix (namespaces are ``<prefix>-<host>``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping

import pytest
from pyroute2 import netns

from ironlb.netns import Topology, cleanup_stale

TopologyFactory = Callable[..., Topology]


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: network namespaces (CI runs as root)")


def _factory(made: list[Topology]) -> TopologyFactory:
    def build(
        spec: Mapping[str, Iterable[str]],
        prefix: str = "ilb-nt",
        *,
        hosts: Iterable[str] = (),
    ) -> Topology:
        _require_root()
        cleanup_stale(prefix)  # a crashed run's leftovers; a live run's stay (ownership locks)
        topo = Topology.from_dict(spec, prefix=prefix, hosts=hosts)
        made.append(topo)
        return topo

    return build


def _teardown(made: list[Topology]) -> None:
    names = {name for topo in made for name in (topo.hub, *map(topo.netns, topo.hosts))}
    for topo in reversed(made):
        topo.teardown()
    left = sorted(names & set(netns.listnetns()))
    if left:  # a broken teardown must fail loudly, not leak into the next test
        raise AssertionError(f"netns teardown left namespaces behind: {left}")


@pytest.fixture
def netns_topology() -> Iterator[TopologyFactory]:
    """Factory: ``netns_topology({"lan": ("a", "b")}, prefix="ilb-xx") -> Topology``."""
    made: list[Topology] = []
    try:
        yield _factory(made)
    finally:
        _teardown(made)


@pytest.fixture(scope="module")
def netns_topology_module() -> Iterator[TopologyFactory]:
    """The module-scoped twin of ``netns_topology`` (one topology for a whole test module)."""
    made: list[Topology] = []
    try:
        yield _factory(made)
    finally:
        _teardown(made)
