"""Only the documentation ranges may be configured; 192.0.2.0/24 never."""

from __future__ import annotations

import pytest

from ironlb.netns import AddressNotAllowed, check_address, check_network


@pytest.mark.parametrize(
    "value",
    ["198.51.100.7/24", "203.0.113.1/32", "198.19.4.1/16", "198.18.7.0/24", "2001:db8::1/64"],
)
def test_documentation_ranges_pass(value: str) -> None:
    assert str(check_address(value)) == value
    assert check_network(value) is not None


@pytest.mark.parametrize(
    "value", ["192.0.2.1/24", "192.0.2.0/25", "10.1.1.1/8", "8.8.8.8/32", "2001:db9::1/64"]
)
def test_everything_else_is_refused(value: str) -> None:
    with pytest.raises(AddressNotAllowed, match=r"192\.0\.2\.0/24 in particular"):
        check_address(value)
    with pytest.raises(AddressNotAllowed):
        check_network(value)


def test_default_routes_only_where_asked_and_garbage_named() -> None:
    assert check_network("default", allow_default=True) is None
    with pytest.raises(AddressNotAllowed):
        check_network("default")
    with pytest.raises(AddressNotAllowed, match="'nonsense': not an IP"):
        check_address("nonsense", "address on h1/lan")
