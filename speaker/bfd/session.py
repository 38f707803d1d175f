"""Sans-IO BFD session, asynchronous mode (RFC 5880 §6.8), aioquic-shaped.

Inputs: `receive_datagram(data, now)`, `handle_timer(now)`, `set_admin_down(now)`.
Outputs: `datagrams_to_send(now) -> list[bytes]`, `get_timer()`, `next_event()`.
Randomness (jitter, §6.8.7) is injected so tests are exact.

Timers: while not Up we transmit at 1 s at most (§6.8.3); once Up a Poll Sequence moves to
the configured intervals, and the new values only count once the peer answers with Final.
"""

from __future__ import annotations

import random as _random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from speaker.bfd.codec import BfdDecodeError, BfdState, ControlPacket, Diag, decode, encode

SLOW_TX_US = 1_000_000


@dataclass(frozen=True, slots=True)
class BfdConfig:
    desired_min_tx_us: int = 300_000
    required_min_rx_us: int = 300_000
    detect_mult: int = 3
    passive: bool = False


@dataclass(frozen=True, slots=True)
class StateChange:
    old: BfdState
    new: BfdState
    diag: Diag


class BfdSession:
    def __init__(
        self,
        config: BfdConfig,
        local_discr: int,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if not 0 < local_discr < 2**32:
            raise ValueError("local discriminator must be a non-zero 32-bit value")
        self.config = config
        self.state = BfdState.DOWN
        self.remote_state = BfdState.DOWN
        self.local_discr = local_discr
        self.remote_discr = 0
        self.diag = Diag.NONE
        self.remote_min_rx = 1  # µs; 1 until the peer tells us (RFC 5880 §6.8.1)
        self.remote_min_tx = 0
        self.remote_detect_mult = 0
        self._random = random
        # Values in effect vs values we are polling to move to.
        self._tx_us = SLOW_TX_US
        self._rx_us = config.required_min_rx_us
        self._polling = False
        self._send_final = False
        self._send_now = not config.passive
        self._next_tx: float | None = None
        self._detect_at: float | None = None
        self._heard = False
        self._events: deque[StateChange] = deque()

    # ------------------------------------------------------------ derived values

    @property
    def detection_time_s(self) -> float:
        """Remote DetectMult x max(our RequiredMinRx, remote DesiredMinTx) (§6.8.4)."""
        return self.remote_detect_mult * max(self._rx_us, self.remote_min_tx) / 1e6

    def _tx_interval_s(self) -> float:
        interval = max(self._tx_us, self.remote_min_rx) / 1e6
        # §6.8.7: jitter 0-25 % below; never above 90 % with a multiplier of 1.
        low = 0.75
        high = 0.9 if self.config.detect_mult == 1 else 1.0
        return interval * (low + (high - low) * self._random())

    # ------------------------------------------------------------ inputs

    def start(self, now: float) -> None:
        if not self.config.passive:
            self._next_tx = now

    def receive_datagram(self, data: bytes, now: float) -> None:
        try:
            pkt = decode(data)
        except BfdDecodeError:
            return
        self.receive_packet(pkt, now)

    def receive_packet(self, pkt: ControlPacket, now: float) -> None:
        if pkt.your_discr and pkt.your_discr != self.local_discr:
            return  # §6.8.6: not ours
        if self.state is BfdState.ADMIN_DOWN:
            return
        self.remote_discr = pkt.my_discr
        self.remote_state = pkt.state
        self.remote_min_rx = pkt.required_min_rx
        self.remote_min_tx = pkt.desired_min_tx
        self.remote_detect_mult = pkt.detect_mult
        if pkt.final and self._polling:
            self._polling = False
        if not self._heard:
            self._heard = True
            if self._next_tx is None:  # passive side: start talking once spoken to
                self._next_tx = now
        self._apply_remote_state(pkt.state, now)
        if pkt.poll:
            self._send_final = True
            self._send_now = True
        if self.state in (BfdState.INIT, BfdState.UP):
            self._detect_at = now + self.detection_time_s
        else:
            self._detect_at = None

    def _apply_remote_state(self, remote: BfdState, now: float) -> None:
        s = self.state
        if remote is BfdState.ADMIN_DOWN:
            if s is not BfdState.DOWN:
                self._set_state(BfdState.DOWN, Diag.NEIGHBOR_DOWN, now)
        elif s is BfdState.DOWN:
            if remote is BfdState.DOWN:
                self._set_state(BfdState.INIT, Diag.NONE, now)
            elif remote is BfdState.INIT:
                self._set_state(BfdState.UP, Diag.NONE, now)
        elif s is BfdState.INIT:
            if remote in (BfdState.INIT, BfdState.UP):
                self._set_state(BfdState.UP, Diag.NONE, now)
        elif s is BfdState.UP and remote is BfdState.DOWN:
            self._set_state(BfdState.DOWN, Diag.NEIGHBOR_DOWN, now)

    def _set_state(self, new: BfdState, diag: Diag, now: float) -> None:
        old = self.state
        self.state = new
        self.diag = diag
        self._send_now = True  # tell the peer at once (§6.8.7: may send on state change)
        if new is BfdState.UP:
            # Move from the slow rate to the configured one with a Poll Sequence (§6.8.3).
            self._tx_us = self.config.desired_min_tx_us
            self._polling = True
        elif old is BfdState.UP or new is BfdState.DOWN:
            self._tx_us = SLOW_TX_US
            self._polling = False
        if new is BfdState.DOWN:
            self._detect_at = None
            if diag is Diag.DETECTION_TIME_EXPIRED:
                self.remote_discr = 0
                self.remote_min_rx = 1
        self._events.append(StateChange(old, new, diag))

    def set_admin_down(self, now: float) -> None:
        if self.state is not BfdState.ADMIN_DOWN:
            self._set_state(BfdState.ADMIN_DOWN, Diag.ADMIN_DOWN, now)

    # ------------------------------------------------------------ timers and output

    def get_timer(self) -> float | None:
        times = [t for t in (self._next_tx, self._detect_at) if t is not None]
        if self._send_now and self._next_tx is not None:
            return min(times)  # a send is owed: the shell drains at once anyway
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        if self._detect_at is not None and now >= self._detect_at:
            self._detect_at = None
            if self.state in (BfdState.INIT, BfdState.UP):
                self._set_state(BfdState.DOWN, Diag.DETECTION_TIME_EXPIRED, now)
        if self._next_tx is not None and now >= self._next_tx:
            self._send_now = True

    def datagrams_to_send(self, now: float) -> list[bytes]:
        if not self._send_now or self._next_tx is None:
            return []
        if self.config.passive and not self._heard:
            return []
        # §6.8.7: never send while the peer's RequiredMinRx is 0.
        if self.remote_min_rx == 0:
            self._send_now = False
            return []
        pkt = ControlPacket(
            state=self.state,
            my_discr=self.local_discr,
            your_discr=self.remote_discr,
            detect_mult=self.config.detect_mult,
            desired_min_tx=self._tx_us,
            required_min_rx=self._rx_us,
            diag=self.diag,
            poll=self._polling and not self._send_final,
            final=self._send_final,
        )
        self._send_final = False
        self._send_now = False
        self._next_tx = now + self._tx_interval_s()
        return [encode(pkt)]

    def next_event(self) -> StateChange | None:
        return self._events.popleft() if self._events else None
