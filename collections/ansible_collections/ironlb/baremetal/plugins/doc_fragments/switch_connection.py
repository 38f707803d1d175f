"""Connection options shared by the modules that log in to a switch over SSH (netmiko)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Address or name of the switch's SSH management interface.
    type: str
    required: true
  port:
    description:
      - SSH port of the switch.
    type: int
    default: 22
  username:
    description:
      - Login name on the switch.
    type: str
    required: true
  password:
    description:
      - Password of O(username). Never logged or returned.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for the TCP connection, the SSH banner and authentication.
    type: float
    default: 10
  device_type:
    description:
      - Netmiko device type, when the platform's default does not fit
        (defaults - V(frr) C(cisco_ios), V(ios) C(cisco_ios), V(nxos) C(cisco_nxos),
        V(eos) C(arista_eos), V(junos) C(juniper_junos), V(vyos) C(vyos)).
    type: str
  ssh_config_file:
    description:
      - An OpenSSH client configuration file (for example with a C(ProxyCommand)).
    type: path
requirements:
  - "netmiko >= 4.8 on the host that runs the module (normally the controller,
    with C(connection: local))."
"""
