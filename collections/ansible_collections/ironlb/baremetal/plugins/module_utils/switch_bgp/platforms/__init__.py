"""The platform registry: name → Platform instance."""

from __future__ import annotations

from .base import Platform
from .eos import Eos
from .frr import Frr
from .ios import Ios
from .junos import Junos
from .nxos import Nxos
from .vyos import Vyos

PLATFORMS: dict[str, Platform] = {p.name: p for p in (Frr(), Ios(), Nxos(), Eos(), Junos(), Vyos())}


def get_platform(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        valid = ", ".join(sorted(PLATFORMS))
        raise ValueError(f"platform: {name!r} is not one of {valid}") from None
