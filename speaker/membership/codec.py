"""Pure: membership messages on the wire, signed with HMAC-SHA256 over a shared key.

Layout (network byte order):

    magic "ILBM" | version u8 | kind u8 | incarnation u64 | sequence u64 |
    name_len u8 | name (UTF-8) | hmac-sha256 (32 bytes, over everything before it)

`incarnation` grows each time a speaker starts (the shell uses wall-clock milliseconds), and
`sequence` grows with every message of one incarnation; together they let a receiver drop
replays. The key never appears in errors or reprs.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from dataclasses import dataclass

MAGIC = b"ILBM"
VERSION = 1
_HEAD = struct.Struct("!4sBBQQB")
MAC_LEN = 32
MAX_NAME = 253  # a DNS-1123 subdomain, the longest Kubernetes node name


class Kind(enum.IntEnum):
    HEARTBEAT = 1
    LEAVE = 2


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    node: str
    incarnation: int
    sequence: int


class DecodeError(ValueError):
    """A datagram that is not a valid, correctly signed message; `reason` is a metric label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.digest(key, body, hashlib.sha256)  # one-shot: OpenSSL's HMAC, no object


def encode(msg: Message, key: bytes) -> bytes:
    name = msg.node.encode()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"node name must be 1..{MAX_NAME} bytes, got {len(name)}")
    body = _HEAD.pack(MAGIC, VERSION, msg.kind, msg.incarnation, msg.sequence, len(name)) + name
    return body + _mac(key, body)


def decode(data: bytes, key: bytes) -> Message:
    """Verify then parse; raises DecodeError(reason) for anything not signed with `key`."""
    if len(data) < _HEAD.size + 1 + MAC_LEN:
        raise DecodeError("short")
    magic, version, kind, incarnation, sequence, name_len = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise DecodeError("magic")
    if version != VERSION:
        raise DecodeError("version")
    if len(data) != _HEAD.size + name_len + MAC_LEN or name_len == 0:
        raise DecodeError("length")
    body, mac = data[:-MAC_LEN], data[-MAC_LEN:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise DecodeError("signature")
    try:
        kind_value = Kind(kind)
        node = body[_HEAD.size :].decode()
    except (ValueError, UnicodeDecodeError):
        raise DecodeError("malformed") from None
    return Message(kind_value, node, incarnation, sequence)
