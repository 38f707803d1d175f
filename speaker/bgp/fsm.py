"""The RFC 4271 §8 state table, alone, and the reasons a session goes down.

The session asks `transition(state, input)`; a pair missing from the table is an FSM error
(RFC 4271 §6.6, NOTIFICATION code 5) raised in one place that names both.
"""

from __future__ import annotations

import enum


class State(enum.Enum):
    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPEN_SENT = "OpenSent"
    OPEN_CONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"


class Input(enum.Enum):
    START_ACTIVE = "ManualStart"
    START_PASSIVE = "ManualStart_with_PassiveTcpEstablishment"
    CONNECT_RETRY_EXPIRED = "ConnectRetryTimer_Expires"
    TCP_CONNECTED = "TcpConnectionConfirmed"
    TCP_FAILED = "TcpConnectionFails"
    OPEN = "BGPOpen"
    KEEPALIVE = "KeepAliveMsg"
    UPDATE = "UpdateMsg"
    ROUTE_REFRESH = "RouteRefreshMsg"
    NOTIFICATION = "NotifMsg"
    HOLD_EXPIRED = "HoldTimer_Expires"
    KEEPALIVE_TIMER = "KeepaliveTimer_Expires"
    STOP = "ManualStop"
    ERROR = "ErrorDetected"


class DownReason(enum.Enum):
    """Why a session left Established (or never got there): used in logs and metrics."""

    ADMIN_SHUTDOWN = "admin-shutdown"
    PEER_DECONFIGURED = "peer-deconfigured"
    HOLD_TIMER_EXPIRED = "hold-timer-expired"
    NOTIFICATION_RECEIVED = "notification-received"
    MALFORMED_MESSAGE = "malformed-message"
    OPEN_REJECTED = "open-rejected"
    FSM_ERROR = "fsm-error"
    CONNECTION_LOST = "connection-lost"
    CONNECT_FAILED = "connect-failed"
    BFD_DOWN = "bfd-down"


class FsmError(Exception):
    def __init__(self, state: State, event: Input) -> None:
        super().__init__(f"no transition from {state.value} on {event.value}")
        self.state = state
        self.event = event


S, In = State, Input
_ANY_TO_IDLE = (In.STOP, In.ERROR, In.HOLD_EXPIRED, In.NOTIFICATION, In.TCP_FAILED)

TABLE: dict[tuple[State, Input], State] = {
    (S.IDLE, In.START_ACTIVE): S.CONNECT,
    (S.IDLE, In.START_PASSIVE): S.ACTIVE,
    (S.IDLE, In.STOP): S.IDLE,
    (S.CONNECT, In.TCP_CONNECTED): S.OPEN_SENT,
    (S.CONNECT, In.CONNECT_RETRY_EXPIRED): S.CONNECT,
    (S.CONNECT, In.TCP_FAILED): S.CONNECT,
    (S.CONNECT, In.STOP): S.IDLE,
    (S.ACTIVE, In.TCP_CONNECTED): S.OPEN_SENT,
    (S.ACTIVE, In.CONNECT_RETRY_EXPIRED): S.CONNECT,
    (S.ACTIVE, In.TCP_FAILED): S.ACTIVE,
    (S.ACTIVE, In.STOP): S.IDLE,
    (S.OPEN_SENT, In.OPEN): S.OPEN_CONFIRM,
    (S.OPEN_CONFIRM, In.KEEPALIVE): S.ESTABLISHED,
    (S.OPEN_CONFIRM, In.KEEPALIVE_TIMER): S.OPEN_CONFIRM,
    (S.ESTABLISHED, In.KEEPALIVE): S.ESTABLISHED,
    (S.ESTABLISHED, In.UPDATE): S.ESTABLISHED,
    (S.ESTABLISHED, In.ROUTE_REFRESH): S.ESTABLISHED,
    (S.ESTABLISHED, In.KEEPALIVE_TIMER): S.ESTABLISHED,
}
for _state in (S.OPEN_SENT, S.OPEN_CONFIRM, S.ESTABLISHED):
    for _input in _ANY_TO_IDLE:
        TABLE[(_state, _input)] = S.IDLE


def transition(state: State, event: Input) -> State:
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise FsmError(state, event) from None


# RFC 6608 FSM error subcodes: the state an unexpected message arrived in.
FSM_SUBCODE = {S.OPEN_SENT: 1, S.OPEN_CONFIRM: 2, S.ESTABLISHED: 3}
