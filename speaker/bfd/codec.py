"""RFC 5880 §4.1 BFD control packet: encode and decode (no authentication).

`decode` applies the reception checks of §6.8.6 that need nothing but the packet; a packet
failing them raises `BfdDecodeError` and the caller drops it (BFD never answers bad input).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

VERSION = 1
LENGTH = 24
_FMT = "!BBBBIIIII"


class BfdState(enum.IntEnum):
    ADMIN_DOWN = 0
    DOWN = 1
    INIT = 2
    UP = 3

    @property
    def label(self) -> str:
        return {0: "AdminDown", 1: "Down", 2: "Init", 3: "Up"}[self.value]


class Diag(enum.IntEnum):
    NONE = 0
    DETECTION_TIME_EXPIRED = 1
    ECHO_FAILED = 2
    NEIGHBOR_DOWN = 3
    FORWARDING_RESET = 4
    PATH_DOWN = 5
    CONCATENATED_PATH_DOWN = 6
    ADMIN_DOWN = 7
    REVERSE_CONCATENATED_PATH_DOWN = 8


class BfdDecodeError(Exception):
    """A packet to drop (RFC 5880 §6.8.6)."""


@dataclass(frozen=True, slots=True)
class ControlPacket:
    state: BfdState
    my_discr: int
    your_discr: int
    detect_mult: int
    desired_min_tx: int  # microseconds
    required_min_rx: int  # microseconds
    required_min_echo_rx: int = 0
    diag: Diag = Diag.NONE
    poll: bool = False
    final: bool = False
    cpi: bool = False
    demand: bool = False


def encode(p: ControlPacket) -> bytes:
    flags = (p.state << 6) | (p.poll << 5) | (p.final << 4) | (p.cpi << 3) | (p.demand << 1)
    return struct.pack(
        _FMT,
        (VERSION << 5) | p.diag,
        flags,
        p.detect_mult,
        LENGTH,
        p.my_discr,
        p.your_discr,
        p.desired_min_tx,
        p.required_min_rx,
        p.required_min_echo_rx,
    )


def decode(data: bytes) -> ControlPacket:
    if len(data) < LENGTH:
        raise BfdDecodeError(f"short packet ({len(data)} bytes)")
    vd, flags, mult, length, mine, yours, tx, rx, echo = struct.unpack(_FMT, data[:LENGTH])
    if vd >> 5 != VERSION:
        raise BfdDecodeError(f"version {vd >> 5}")
    if flags & 0x04:
        raise BfdDecodeError("authentication not configured")
    if length < LENGTH or length > len(data):
        raise BfdDecodeError(f"length field {length}")
    if mult == 0:
        raise BfdDecodeError("detect multiplier 0")
    if flags & 0x01:
        raise BfdDecodeError("multipoint bit set")
    if mine == 0:
        raise BfdDecodeError("my discriminator 0")
    state = BfdState(flags >> 6)
    if yours == 0 and state not in (BfdState.DOWN, BfdState.ADMIN_DOWN):
        raise BfdDecodeError("your discriminator 0 outside Down/AdminDown")
    diag = vd & 0x1F
    return ControlPacket(
        state=state,
        my_discr=mine,
        your_discr=yours,
        detect_mult=mult,
        desired_min_tx=tx,
        required_min_rx=rx,
        required_min_echo_rx=echo,
        diag=Diag(diag) if diag <= 8 else Diag.NONE,
        poll=bool(flags & 0x20),
        final=bool(flags & 0x10),
        cpi=bool(flags & 0x08),
        demand=bool(flags & 0x02),
    )
