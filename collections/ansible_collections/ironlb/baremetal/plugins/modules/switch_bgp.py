#!/usr/bin/python
"""Configure a ToR switch's BGP peering with the cluster nodes (ironlb BGP mode)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: switch_bgp
short_description: Peer a top-of-rack switch with the cluster nodes over BGP
version_added: 0.1.0
description:
  - Describes, once and vendor-neutrally, the BGP peering a ToR switch needs for ironlb's BGP
    mode - the nodes as neighbors, an import filter accepting only the service pools, ECMP
    via maximum-paths, optional BFD, MD5 and eBGP multihop - and applies it to FRR,
    Cisco IOS/IOS-XE, Cisco NX-OS, Arista EOS, Juniper Junos or VyOS over SSH with netmiko.
  - Reads the running configuration first and sends only the difference; with nothing to change
    nothing is sent and C(changed) is false.
  - Manages only what it owns - neighbors whose description starts with O(owner_tag), the prefix
    lists / route maps / policies named C(IRONLB-*) and the BFD profile C(ironlb). Other
    neighbors (uplinks) are never touched.
  - Saves the configuration the platform's way (C(write memory), C(copy running-config
    startup-config), Junos C(commit confirmed) then C(commit), VyOS C(commit) and C(save)).
  - When the switch rejects a line, the module leaves config mode, restores the previous state
    (Junos/VyOS discard the candidate; the others get the reverting lines) and fails with the
    device's error text.
author:
  - ironlb contributors
extends_documentation_fragment:
  - ironlb.baremetal.switch_connection
attributes:
  check_mode:
    support: full
    description: Computes and returns the commands without sending them.
  diff_mode:
    support: full
    description: The diff's C(prepared) text holds the vendor lines that are (or would be) sent.
options:
  platform:
    description: The switch's operating system.
    type: str
    required: true
    choices: [frr, ios, nxos, eos, junos, vyos]
  state:
    description:
      - V(present) makes the owned configuration match the options (neighbors missing from
        O(neighbors) are removed).
      - V(absent) removes the owned neighbors, filter objects, BFD profile and maximum-paths;
        the BGP process and its router ID stay.
      - V(gathered) returns the parsed running configuration; V(rendered) returns the full
        configuration for the options without a device; V(parsed) parses O(running_config)
        without a device.
    type: str
    choices: [present, absent, gathered, rendered, parsed]
    default: present
  asn:
    description: The switch's local AS number (required unless O(state) is V(absent),
      V(gathered) or V(parsed)). A device running BGP with another AS fails the task.
    type: int
  router_id:
    description: BGP router ID; left as it is when omitted.
    type: str
  neighbors:
    description: The cluster nodes to peer with.
    type: list
    elements: dict
    default: []
    suboptions:
      address:
        description: The node's address on the ToR-facing network (IPv4 or IPv6).
        type: str
        required: true
      remote_asn:
        description: The node's AS number (the speaker's C(myASN)).
        type: int
        required: true
      description:
        description: Text after O(owner_tag) in the neighbor's description (the node name).
        type: str
        default: ""
  accept:
    description:
      - The import filter - only these prefixes (the service pools) are accepted from the nodes.
      - Each O(accept[].prefix) is a CIDR, an address or a range C(first-last) as in an
        IPAddressPool; a range becomes the CIDRs covering it.
    type: list
    elements: dict
    default: []
    suboptions:
      prefix:
        description: CIDR, address or range.
        type: str
        required: true
      max_length:
        description: Also accept more-specifics up to this length (32 for single service
          addresses in IPv4, 128 in IPv6). Omitted - only the exact prefix.
        type: int
  maximum_paths:
    description: ECMP - how many equal eBGP paths to install (in every address family).
    type: int
  md5_password:
    description: TCP MD5 password for every node session. Never logged or returned.
    type: str
  update_password:
    description:
      - V(always) resends O(md5_password) when the device shows it in clear text and it differs,
        or shows it encrypted (so every run reports a change on those platforms).
      - V(on_create) sets it only on new neighbors when the device shows passwords encrypted.
    type: str
    choices: [always, on_create]
    default: on_create
  bfd:
    description: BFD for the node sessions.
    type: dict
    suboptions:
      enabled:
        description: Turn BFD on.
        type: bool
        default: false
      min_rx:
        description: Required minimum receive interval, milliseconds.
        type: int
        default: 300
      min_tx:
        description: Desired minimum transmit interval, milliseconds.
        type: int
        default: 300
      multiplier:
        description: Detection multiplier.
        type: int
        default: 3
  ebgp_multihop:
    description: Allow the node sessions to be this many hops away (eBGP multihop TTL).
    type: int
  address_families:
    description: Address families the sessions carry; each gets the import filter and maximum-paths.
    type: list
    elements: str
    choices: [ipv4, ipv6]
    default: [ipv4]
  owner_tag:
    description: Neighbors whose description starts with this word are managed by the module.
    type: str
    default: ironlb
  running_config:
    description: Running-configuration text for O(state=parsed).
    type: str
notes:
  - "Run it on the controller (C(connection: local)); it opens its own SSH session."
  - FRR has no netmiko device type; C(cisco_ios) drives vtysh fully.
"""

EXAMPLES = r"""
- name: Peer the ToR with three nodes, accept only the service pool, ECMP over 8 paths
  ironlb.baremetal.switch_bgp:
    platform: frr
    host: 198.51.100.254
    username: admin
    password: "{{ tor_password }}"
    asn: 64512
    router_id: 198.51.100.254
    neighbors:
      - {address: 198.51.100.11, remote_asn: 64513, description: node1}
      - {address: 198.51.100.12, remote_asn: 64513, description: node2}
      - {address: 198.51.100.13, remote_asn: 64513, description: node3}
    accept:
      - {prefix: 203.0.113.0/28, max_length: 32}
      - {prefix: 203.0.113.100-203.0.113.110, max_length: 32}
    maximum_paths: 8
    md5_password: "{{ bgp_md5 }}"
    bfd: {enabled: true, min_rx: 300, min_tx: 300, multiplier: 3}

- name: Remove the ironlb peering from an Arista switch
  ironlb.baremetal.switch_bgp:
    platform: eos
    host: tor2.example.net
    username: admin
    password: "{{ tor_password }}"
    asn: 65010
    state: absent

- name: Show what Junos would get, without a device
  ironlb.baremetal.switch_bgp:
    platform: junos
    host: unused
    username: unused
    password: unused
    asn: 65010
    neighbors: [{address: 198.51.100.11, remote_asn: 64513}]
    accept: [{prefix: 203.0.113.0/28, max_length: 32}]
    state: rendered
  register: tor_bgp_junos
"""

RETURN = r"""
commands:
  description: The vendor lines sent (or, in check mode, that would be sent).
  returned: when O(state) is V(present) or V(absent)
  type: list
  elements: str
  sample: ["router bgp 64512", " neighbor 198.51.100.11 remote-as 64513", "exit"]
before:
  description: The owned configuration read from the device before the change (no passwords).
  returned: when O(state) is V(present) or V(absent)
  type: dict
after:
  description: The owned configuration read back after the change (no passwords); equals
    RV(before) when nothing changed; null in check mode when something would change.
  returned: when O(state) is V(present) or V(absent)
  type: dict
gathered:
  description: The parsed running configuration.
  returned: when O(state=gathered)
  type: dict
rendered:
  description: The full configuration lines for the options.
  returned: when O(state=rendered)
  type: list
  elements: str
parsed:
  description: The model parsed from O(running_config).
  returned: when O(state=parsed)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.connection import (  # noqa: E402
    HAS_NETMIKO,
    NETMIKO_IMPORT_ERROR,
)
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.runner import (  # noqa: E402
    ModuleFailure,
    run,
)

NEIGHBOR = {
    "address": {"type": "str", "required": True},
    "remote_asn": {"type": "int", "required": True},
    "description": {"type": "str", "default": ""},
}
PREFIX = {"prefix": {"type": "str", "required": True}, "max_length": {"type": "int"}}
BFD = {
    "enabled": {"type": "bool", "default": False},
    "min_rx": {"type": "int", "default": 300},
    "min_tx": {"type": "int", "default": 300},
    "multiplier": {"type": "int", "default": 3},
}
ARGSPEC = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 22},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "timeout": {"type": "float", "default": 10},
    "device_type": {"type": "str"},
    "ssh_config_file": {"type": "path"},
    "platform": {
        "type": "str",
        "required": True,
        "choices": ["frr", "ios", "nxos", "eos", "junos", "vyos"],
    },
    "state": {
        "type": "str",
        "default": "present",
        "choices": ["present", "absent", "gathered", "rendered", "parsed"],
    },
    "asn": {"type": "int"},
    "router_id": {"type": "str"},
    "neighbors": {"type": "list", "elements": "dict", "default": [], "options": NEIGHBOR},
    "accept": {"type": "list", "elements": "dict", "default": [], "options": PREFIX},
    "maximum_paths": {"type": "int"},
    "md5_password": {"type": "str", "no_log": True},
    "update_password": {
        "type": "str",
        "default": "on_create",
        "choices": ["always", "on_create"],
        "no_log": False,
    },
    "bfd": {"type": "dict", "options": BFD},
    "ebgp_multihop": {"type": "int"},
    "address_families": {
        "type": "list",
        "elements": "str",
        "default": ["ipv4"],
        "choices": ["ipv4", "ipv6"],
    },
    "owner_tag": {"type": "str", "default": "ironlb"},
    "running_config": {"type": "str"},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGSPEC,
        supports_check_mode=True,
        required_if=[("state", "present", ("asn",)), ("state", "rendered", ("asn",))],
    )
    offline = module.params["state"] in ("rendered", "parsed")
    if not HAS_NETMIKO and not offline:
        module.fail_json(msg=missing_required_lib("netmiko"), exception=str(NETMIKO_IMPORT_ERROR))
    try:
        result = run(module.params, module.check_mode)
    except ModuleFailure as exc:
        module.fail_json(msg=str(exc))
    if module._diff and result.get("commands"):
        result["diff"] = {"prepared": "\n".join(result["commands"]) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
