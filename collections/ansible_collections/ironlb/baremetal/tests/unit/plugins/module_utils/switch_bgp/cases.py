"""The desired state every golden case starts from, plus per-case overrides."""

from __future__ import annotations

from typing import Any

DESIRED: dict[str, Any] = {
    "state": "present",
    "asn": 64512,
    "router_id": "198.51.100.254",
    "neighbors": [
        {"address": "198.51.100.11", "remote_asn": 64513, "description": "node1"},
        {"address": "198.51.100.12", "remote_asn": 64513, "description": "node2"},
        {"address": "2001:db8::11", "remote_asn": 64513, "description": "node1"},
    ],
    "accept": [
        {"prefix": "203.0.113.0/28", "max_length": 32},
        {"prefix": "203.0.113.100-203.0.113.103", "max_length": 32},
        {"prefix": "2001:db8:100::/120", "max_length": 128},
    ],
    "maximum_paths": 8,
    "md5_password": "s3cr3t-md5",
    "update_password": "on_create",
    "bfd": {"enabled": True, "min_rx": 300, "min_tx": 300, "multiplier": 3},
    "ebgp_multihop": None,
    "address_families": ["ipv4", "ipv6"],
    "owner_tag": "ironlb",
}

# Per case: changes applied to DESIRED (a value of None removes the key's effect).
OVERRIDES: dict[str, dict[str, Any]] = {
    "empty": {},
    "converged": {},
    "remove_node": {},
    "change": {
        "maximum_paths": 16,
        "ebgp_multihop": 2,
        "bfd": {"enabled": True, "min_rx": 100, "min_tx": 100, "multiplier": 3},
        "accept": [
            {"prefix": "203.0.113.0/28", "max_length": 32},
            {"prefix": "203.0.113.64/27", "max_length": 32},
            {"prefix": "2001:db8:100::/120", "max_length": 128},
        ],
    },
    "absent": {"state": "absent"},
}


def params_for(case: str) -> dict[str, Any]:
    return {**DESIRED, **OVERRIDES[case]}
