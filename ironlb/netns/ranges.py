"""The only address ranges a topology may configure (DESIGN.md section 4, "The lab").

192.0.2.0/24 is the host's own network on our machines: an address from it inside a
namespace can leak real traffic, so it (and everything else outside these ranges) is refused.
"""

from __future__ import annotations

import ipaddress

__all__ = ["ALLOWED_NETWORKS", "AddressNotAllowed", "check_address", "check_network"]

ALLOWED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("198.51.100.0/24"),  # node LAN
    ipaddress.ip_network("203.0.113.0/24"),  # service pools
    ipaddress.ip_network("198.19.0.0/16"),  # uplink / client / management
    ipaddress.ip_network("198.18.0.0/16"),  # bulk prefixes
    ipaddress.ip_network("2001:db8::/32"),  # IPv6 documentation
)
# Never leave the link or the host, so they cannot leak: allowed as well.
_LOCAL_NETWORKS = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("fe80::/10"),
)
_DEFAULTS = {"default", "0.0.0.0/0", "::/0"}


class AddressNotAllowed(ValueError):
    """An address or network outside the documentation ranges the project may use."""


def _allowed(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return any(
        net.version == allowed.version and net.subnet_of(allowed)  # type: ignore[arg-type]
        for allowed in ALLOWED_NETWORKS + _LOCAL_NETWORKS
    )


def _ranges_text() -> str:
    return ", ".join(str(n) for n in ALLOWED_NETWORKS)


def check_network(
    value: str, what: str = "network", *, allow_default: bool = False
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Parse a network (``a.b.c.d/len`` or a bare address) and refuse it outside the ranges.

    Returns None for a default route when ``allow_default`` (it carries no address).
    """
    if allow_default and value in _DEFAULTS:
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise AddressNotAllowed(f"{what} {value!r}: not an IP network ({exc})") from None
    if not _allowed(net):
        raise AddressNotAllowed(
            f"{what} {value!r}: outside the allowed documentation ranges ({_ranges_text()}); "
            "192.0.2.0/24 in particular is the host's own network and is never used"
        )
    return net


def check_address(
    value: str, what: str = "address"
) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """Parse ``addr[/len]`` (an interface address) and refuse it outside the allowed ranges."""
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError as exc:
        raise AddressNotAllowed(f"{what} {value!r}: not an IP address ({exc})") from None
    # The connected route counts too: 198.51.100.1/16 would route 198.51.0.0/16 on the link.
    if not (_allowed(ipaddress.ip_network(iface.ip)) and _allowed(iface.network)):
        raise AddressNotAllowed(
            f"{what} {value!r}: outside the allowed documentation ranges ({_ranges_text()}); "
            "192.0.2.0/24 in particular is the host's own network and is never used"
        )
    return iface
