"""Pure: Ethernet framing shared by the ARP and NDP codecs."""

from __future__ import annotations

import struct

ETH = struct.Struct("!6s6sH")
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST = b"\xff" * 6
MIN_FRAME = 60  # Ethernet minimum without FCS; short frames are padded


class FrameError(ValueError):
    """A frame we will not act on; `reason` is the metric label (`ignored{reason}`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ethernet(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    frame = ETH.pack(dst, src, ethertype) + payload
    return frame.ljust(MIN_FRAME, b"\x00")


def ethertype(frame: bytes) -> int:
    if len(frame) < ETH.size:
        raise FrameError("short")
    return int.from_bytes(frame[12:14], "big")


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def mac_bytes(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError(f"not a MAC address: {text!r}")
    return bytes(int(p, 16) for p in parts)
