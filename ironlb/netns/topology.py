"""Network-namespace topologies: one namespace per host, one bridge per segment.

``Topology.from_dict({"lan": ("node1", "node2", "tor"), "uplink": ("tor", "client")},
prefix="ilb-xx")`` makes namespaces ``ilb-xx-node1`` ... and a hub namespace ``ilb-xx-hub``
holding one bridge per segment, so nothing lives in the root namespace. Each host gets one veth
per segment, named after the segment inside the host (``lan``, ``uplink``).

Everything is created through pyroute2 (netlink); processes run under ``ip netns exec`` so their
pid is the real daemon. :meth:`Topology.teardown` kills what it started by pid, sweeps any
process left in its namespaces, deletes the namespaces (and with them every link) and is
idempotent; it also runs at interpreter exit and on SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import IO, Any

from pyroute2 import NetNS, netns

from ironlb.netns import ownership, safety
from ironlb.netns.process import (
    Proc,
    kill_pids,
    netns_argv,
    netns_inode,
    pids_in_netns,
    start_in_netns,
)
from ironlb.netns.ranges import check_address, check_network

__all__ = ["Topology", "TopologyError", "cleanup_stale"]

log = logging.getLogger("ironlb.netns")

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
HUB = "hub"
# Host namespaces skip IPv6 duplicate address detection (tests need addresses usable at once);
# the hub has no IPv6 at all so its bridges add no RS/MLD noise to captures.
_HOST_SYSCTLS = {
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
}
_HUB_SYSCTLS = {
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}


class TopologyError(RuntimeError):
    """A topology request that cannot be honoured (bad name, unknown host or interface)."""


class Topology:
    """Namespaces, bridges and veths for one test or lab; see the module docstring."""

    def __init__(self, prefix: str, *, signal_hooks: bool = True) -> None:
        if not _NAME.match(prefix) or len(prefix) > 40:
            raise TopologyError(f"prefix {prefix!r}: use lowercase letters, digits and '-'")
        self.prefix = prefix
        self.hosts: list[str] = []
        self.segments: dict[str, list[str]] = {}
        self.procs: list[Proc] = []
        self._hub_ifnames: set[str] = set()
        self._namespaces: dict[str, int | None] = {}  # netns name -> inode
        self._claims: dict[str, int] = {}  # netns name -> ownership lock fd
        self._lock = threading.RLock()
        self._closed = False
        # pyroute2 forks helpers that inherit our hooks: only this pid may tear down.
        self._owner = os.getpid()
        safety.register(self, signal_hooks)

    # ----------------------------------------------------------------- building

    @classmethod
    def from_dict(
        cls,
        segments: Mapping[str, Iterable[str]],
        prefix: str,
        *,
        hosts: Iterable[str] = (),
        signal_hooks: bool = True,
    ) -> Topology:
        """Build segments → hosts at once; extra ``hosts`` get a namespace and no links.

        On any failure everything made so far is torn down before the error propagates.
        """
        topo = cls(prefix, signal_hooks=signal_hooks)
        try:
            for host in hosts:
                topo.add_host(host)
            for segment, members in segments.items():
                topo.add_segment(segment, members)
        except BaseException:
            topo.teardown()
            raise
        return topo

    def netns(self, host: str) -> str:
        """The namespace name of ``host`` (``<prefix>-<host>``)."""
        return f"{self.prefix}-{host}"

    @property
    def hub(self) -> str:
        """The namespace holding the segment bridges."""
        return f"{self.prefix}-{HUB}"

    def add_host(self, host: str) -> str:
        """Create the namespace for ``host`` (lo up); return its name. Idempotent."""
        with self._lock:
            self._check_open()
            if host in self.hosts:
                return self.netns(host)
            if not _NAME.match(host) or host == HUB:
                raise TopologyError(
                    f"host {host!r}: use lowercase letters, digits and '-' (and not {HUB!r})"
                )
            name = self.netns(host)
            self._create_netns(name, _HOST_SYSCTLS)
            self.hosts.append(host)
            return name

    def add_segment(self, segment: str, hosts: Iterable[str]) -> None:
        """Create a bridge for ``segment`` in the hub and plug one veth per host into it."""
        with self._lock:
            self._check_open()
            members = list(hosts)
            if not _IFNAME.match(segment) or segment == "lo":
                raise TopologyError(f"segment {segment!r}: must be a valid interface name")
            if segment in self.segments:
                raise TopologyError(f"segment {segment!r}: already exists")
            if len(set(members)) != len(members):
                raise TopologyError(f"segment {segment!r}: a host is listed twice")
            if self.hub not in self._namespaces:
                self._create_netns(self.hub, _HUB_SYSCTLS)
            for host in members:
                self.add_host(host)
            self._claim_hub_ifname(segment)
            with self._ns(self.hub) as hub:
                # No multicast snooping: NDP to a solicited-node group nobody joined (a speaker
                # answering for a Service address) must reach every port, like a plain switch.
                hub.link("add", ifname=segment, kind="bridge", br_mcast_snooping=0)
                bridge = hub.link_lookup(ifname=segment)[0]
                hub.link("set", index=bridge, state="up")
            self.segments[segment] = []
            for host in members:
                self._plug(segment, bridge, host)

    def _plug(self, segment: str, bridge: int, host: str) -> None:
        hub_side = self._hub_ifname(host, segment)
        with self._ns(self.hub) as hub:
            hub.link(
                "add",
                ifname=hub_side,
                kind="veth",
                peer={"ifname": segment, "net_ns_fd": self.netns(host)},
            )
            index = hub.link_lookup(ifname=hub_side)[0]
            hub.link("set", index=index, master=bridge, state="up")
        with self._ns(self.netns(host)) as ns:
            ns.link("set", index=ns.link_lookup(ifname=segment)[0], state="up")
        self.segments[segment].append(host)

    def _hub_ifname(self, host: str, segment: str) -> str:
        name = f"{host}-{segment}"
        if len(name) > 15 or name in self._hub_ifnames:
            name = f"p{len(self._hub_ifnames)}-{segment}"[:15]
        while name in self._hub_ifnames:  # bounded: each try adds one distinct counter
            name = f"p{len(self._hub_ifnames)}x{len(name)}"
        self._claim_hub_ifname(name)
        return name

    def _claim_hub_ifname(self, name: str) -> None:
        if name in self._hub_ifnames:
            raise TopologyError(f"interface {name!r}: already used in the hub namespace")
        self._hub_ifnames.add(name)

    def _create_netns(self, name: str, sysctls: Mapping[str, str]) -> None:
        fd = ownership.claim(name)
        if fd is None:
            raise TopologyError(
                f"namespace {name!r} belongs to a live run (pid {ownership.holder(name)}) "
                f"with prefix {self.prefix!r}: choose another prefix or wait for it"
            )
        if name in netns.listnetns():
            ownership.release(name, fd)
            raise TopologyError(
                f"namespace {name!r} already exists, left by a crashed run or made by hand: "
                f"cleanup_stale({self.prefix!r}) removes it"
            )
        self._claims[name] = fd
        netns.create(name)
        self._namespaces[name] = netns_inode(name)
        with self._ns(name) as ns:
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
        self._sysctl(name, sysctls)

    # --------------------------------------------------------------- netlink ops

    @contextlib.contextmanager
    def _ns(self, name: str) -> Iterator[NetNS]:
        # flags=0: never (re)create a namespace by opening it.
        handle = NetNS(name, flags=0)
        try:
            yield handle
        finally:
            handle.close()

    @contextlib.contextmanager
    def ipr(self, host: str) -> Iterator[NetNS]:
        """A pyroute2 handle inside ``host`` for anything this class does not wrap."""
        with self._ns(self._host_ns(host)) as ns:
            yield ns

    def _host_ns(self, host: str) -> str:
        self._check_open()
        if host not in self.hosts:
            raise TopologyError(f"host {host!r}: not in this topology (hosts: {self.hosts})")
        return self.netns(host)

    def ifindex(self, host: str, ifname: str) -> int:
        """The interface index of ``ifname`` in ``host``."""
        with self.ipr(host) as ns:
            found = ns.link_lookup(ifname=ifname)
        if not found:
            raise TopologyError(f"host {host!r}: no interface {ifname!r}")
        return int(found[0])

    def ifname(self, host: str, segment: str) -> str:
        """The host-side interface name on ``segment`` (the segment name)."""
        if host not in self.segments.get(segment, ()):
            raise TopologyError(f"host {host!r} is not on segment {segment!r}")
        return segment

    def add_address(self, host: str, ifname: str, cidr: str) -> None:
        """Add ``cidr`` (``addr/len``) to ``ifname``; only documentation ranges are accepted."""
        iface = check_address(cidr, f"address on {host}/{ifname}")
        index = self.ifindex(host, ifname)
        with self.ipr(host) as ns:
            ns.addr(
                "add",
                index=index,
                address=str(iface.ip),
                prefixlen=iface.network.prefixlen,
            )

    def del_address(self, host: str, ifname: str, cidr: str) -> None:
        """Remove ``cidr`` from ``ifname``."""
        iface = check_address(cidr, f"address on {host}/{ifname}")
        index = self.ifindex(host, ifname)
        with self.ipr(host) as ns:
            ns.addr("del", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def addresses(self, host: str, ifname: str | None = None) -> list[str]:
        """``addr/len`` strings configured in ``host`` (on ``ifname`` only, if given)."""
        index = None if ifname is None else self.ifindex(host, ifname)
        with self.ipr(host) as ns:
            msgs = ns.get_addr(index=index) if index is not None else ns.get_addr()
            return [f"{m.get('IFA_ADDRESS')}/{m['prefixlen']}" for m in msgs]

    def add_route(
        self, host: str, dst: str, via: str | None = None, *, dev: str | None = None
    ) -> None:
        """Route ``dst`` (a network or ``default``) via a gateway and/or out of ``dev``."""
        if via is None and dev is None:
            raise TopologyError(f"route {dst!r} on {host!r}: give via, dev or both")
        net = check_network(dst, f"route destination on {host}", allow_default=True)
        spec: dict[str, Any] = {}
        if net is None:
            family = 6 if via is not None and ":" in via else 4
            spec["dst"] = "::/0" if family == 6 else "0.0.0.0/0"
        else:
            spec["dst"] = str(net)
        if via is not None:
            gateway = check_network(via, f"route gateway on {host}")
            assert gateway is not None
            spec["gateway"] = str(gateway.network_address)
        if dev is not None:
            spec["oif"] = self.ifindex(host, dev)
        family_of = ipaddress.ip_network(spec["dst"]).version
        with self.ipr(host) as ns:
            ns.route("add", family=10 if family_of == 6 else 2, **spec)

    def sysctl(self, host: str, key: str, value: str | int) -> None:
        """Set one sysctl (``net.ipv4.ip_forward``) inside ``host``."""
        self._sysctl(self._host_ns(host), {key: str(value)})

    def _sysctl(self, name: str, values: Mapping[str, str]) -> None:
        if not values:
            return
        argv = ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in values.items())]
        done = subprocess.run(
            netns_argv(name, argv), capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode != 0:
            raise TopologyError(f"sysctl in {name}: {done.stderr.strip() or done.returncode}")

    def link_set(self, host: str, ifname: str, up: bool = False) -> None:
        """Bring ``ifname`` down (the default: cuts a host off its segment) or back up."""
        index = self.ifindex(host, ifname)
        with self.ipr(host) as ns:
            ns.link("set", index=index, state="up" if up else "down")

    def mac(self, host: str, ifname: str) -> str:
        """The MAC address of ``ifname`` in ``host`` (lowercase, colon separated)."""
        index = self.ifindex(host, ifname)
        with self.ipr(host) as ns:
            return str(ns.get_links(index)[0].get("address"))

    # ---------------------------------------------------------------- processes

    def exec(
        self,
        host: str,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout: float = 30.0,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in ``host`` to completion and capture its output (text)."""
        full_env = None if env is None else {**os.environ, **env}
        return subprocess.run(
            netns_argv(self._host_ns(host), argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            input=input,
            env=full_env,
        )

    def start(
        self,
        host: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.STDOUT,
        text: bool = False,
    ) -> Proc:
        """Start a foreground daemon in ``host``; teardown stops it by its pid."""
        with self._lock:
            proc = start_in_netns(
                self._host_ns(host),
                argv,
                host=host,
                env=env,
                cwd=cwd,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                text=text,
            )
            self.procs.append(proc)
            return proc

    start_process = start

    # ----------------------------------------------------------------- teardown

    def teardown(self) -> None:
        """Stop every process, then delete every namespace (and so every link). Idempotent."""
        if os.getpid() != self._owner:
            return
        with self._lock:
            self._closed = True
            for proc in reversed(self.procs):
                with contextlib.suppress(Exception):
                    proc.stop(timeout=3.0)
            inodes = {ino for ino in self._namespaces.values() if ino is not None}
            strays = pids_in_netns(inodes) if inodes else []
            if strays:
                log.warning("netns teardown: killing stray pids %s in %s", strays, self.prefix)
                kill_pids(strays)
            for name in list(self._namespaces):
                with contextlib.suppress(FileNotFoundError, OSError):
                    netns.remove(name)
                self._namespaces.pop(name, None)
            for name, fd in list(self._claims.items()):
                ownership.release(name, fd)
                del self._claims[name]
            safety.unregister(self)

    close = teardown

    def _check_open(self) -> None:
        if self._closed:
            raise TopologyError(f"topology {self.prefix!r} was torn down")

    def __enter__(self) -> Topology:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.teardown()

    def __repr__(self) -> str:
        return f"<Topology {self.prefix} hosts={self.hosts} segments={list(self.segments)}>"


def cleanup_stale(prefix: str) -> list[str]:
    """Remove namespaces ``<prefix>-*`` left by a crashed run, and processes inside them.

    Returns the namespace names removed. Only names starting with ``<prefix>-`` are touched,
    and never those a live topology owns, in this process or any other (see ownership.py).
    """
    removed = []
    for name in netns.listnetns():
        if not name.startswith(f"{prefix}-"):
            continue
        fd = ownership.claim(name)
        if fd is None:
            continue  # a live run owns it
        try:
            inode = netns_inode(name)
            if inode is not None:
                kill_pids(pids_in_netns({inode}))
            with contextlib.suppress(FileNotFoundError, OSError):
                netns.remove(name)
            removed.append(name)
        finally:
            ownership.release(name, fd)
    return removed
