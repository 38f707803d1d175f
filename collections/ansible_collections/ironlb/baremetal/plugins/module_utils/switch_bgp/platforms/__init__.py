"""The platform registry: name → Platform instance."""

from __future__ import annotations

from .base import Platform
from .frr import Frr

PLATFORMS: dict[str, Platform] = {p.name: p for p in (Frr(),)}


def get_platform(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        valid = ", ".join(sorted(PLATFORMS))
        raise ValueError(f"platform: {name!r} is not one of {valid}") from None
