"""BGP error model: RFC 4271 §6 codes and the RFC 7606 action each error calls for.

`BgpDecodeError` is the peer's fault (its bytes were wrong): the session answers with a
NOTIFICATION carrying `code`/`subcode`/`data` when `action` is `RESET`, and keeps the session
for the milder RFC 7606 actions. `LocalProtocolError` is ours (we were asked to send
something the protocol cannot carry).
"""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5
    CEASE = 6
    ROUTE_REFRESH = 7


class HeaderSub(enum.IntEnum):
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenSub(enum.IntEnum):
    UNSUPPORTED_VERSION = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7


class UpdateSub(enum.IntEnum):
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN = 2
    MISSING_WELL_KNOWN = 3
    ATTRIBUTE_FLAGS = 4
    ATTRIBUTE_LENGTH = 5
    INVALID_ORIGIN = 6
    INVALID_NEXT_HOP = 8
    OPTIONAL_ATTRIBUTE = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class CeaseSub(enum.IntEnum):
    MAX_PREFIXES = 1
    ADMIN_SHUTDOWN = 2
    PEER_DECONFIGURED = 3
    ADMIN_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIG_CHANGE = 6
    CONNECTION_COLLISION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9
    BFD_DOWN = 10


class Action(enum.Enum):
    """What the receiver does about a malformed input (RFC 7606 §2)."""

    RESET = "session-reset"
    TREAT_AS_WITHDRAW = "treat-as-withdraw"
    DISCARD_ATTRIBUTE = "attribute-discard"


class BgpDecodeError(Exception):
    """The peer sent bytes we must refuse; `action` says how hard."""

    def __init__(
        self,
        code: int,
        subcode: int,
        data: bytes = b"",
        action: Action = Action.RESET,
        why: str = "",
    ) -> None:
        self.code = int(code)
        self.subcode = int(subcode)
        self.data = bytes(data)
        self.action = action
        self.why = why
        super().__init__(f"code={self.code} subcode={self.subcode} action={action.value} {why}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BgpDecodeError) and (
            self.code,
            self.subcode,
            self.data,
            self.action,
        ) == (other.code, other.subcode, other.data, other.action)

    def __hash__(self) -> int:
        return hash((self.code, self.subcode, self.data, self.action))


class LocalProtocolError(Exception):
    """We were asked to do something BGP cannot express (our bug or a bad call)."""


def update_error(
    subcode: UpdateSub, data: bytes = b"", action: Action = Action.RESET, why: str = ""
) -> BgpDecodeError:
    return BgpDecodeError(ErrorCode.UPDATE_MESSAGE, subcode, data, action, why)
