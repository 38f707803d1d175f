"""Stream bytes → whole BGP messages (the h11 `_receivebuffer` role).

The header is checked as soon as 19 bytes are in, so a desynchronised or oversized stream
fails before we buffer up to its claimed length.
"""

from __future__ import annotations

from speaker.bgp.codec import HEADER_LEN, check_header


class ReceiveBuffer:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._start = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def __len__(self) -> int:
        return len(self._buf) - self._start

    def next_message(self) -> bytes | None:
        """One whole message (header included), or None if more bytes are needed.

        Raises BgpDecodeError for a bad marker, length or type.
        """
        start = self._start
        if len(self._buf) - start < HEADER_LEN:
            self._compact()
            return None
        length, _ = check_header(bytes(self._buf[start : start + HEADER_LEN]))
        if len(self._buf) - start < length:
            self._compact()
            return None
        self._start = start + length
        return bytes(self._buf[start : start + length])

    def _compact(self) -> None:
        # Drop consumed bytes only when waiting, so a burst of messages costs no copies.
        if self._start:
            del self._buf[: self._start]
            self._start = 0
