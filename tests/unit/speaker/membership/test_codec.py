import pytest
from hypothesis import given
from hypothesis import strategies as st

from speaker.membership.codec import DecodeError, Kind, Message, decode, encode

KEY = b"k" * 32


@given(
    st.sampled_from(Kind),
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,60}", fullmatch=True),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
)
def test_round_trip(kind: Kind, node: str, inc: int, seq: int) -> None:
    msg = Message(kind, node, inc, seq)
    assert decode(encode(msg, KEY), KEY) == msg


def test_wrong_key_is_rejected_as_signature() -> None:
    data = encode(Message(Kind.HEARTBEAT, "n1", 1, 1), KEY)
    with pytest.raises(DecodeError) as err:
        decode(data, b"other")
    assert err.value.reason == "signature"
    assert "k" * 8 not in str(err.value)


def test_any_flipped_bit_is_rejected() -> None:
    data = encode(Message(Kind.HEARTBEAT, "n1", 1, 1), KEY)
    for i in range(len(data)):
        for bit in (1, 128):
            bad = bytearray(data)
            bad[i] ^= bit
            with pytest.raises(DecodeError):
                decode(bytes(bad), KEY)


def test_unsigned_message_is_rejected() -> None:
    data = encode(Message(Kind.HEARTBEAT, "n1", 1, 1), KEY)
    with pytest.raises(DecodeError) as err:
        decode(data[:-32] + bytes(32), KEY)
    assert err.value.reason == "signature"


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(data, KEY)


def test_name_length_is_checked_on_encode() -> None:
    with pytest.raises(ValueError):
        encode(Message(Kind.HEARTBEAT, "", 1, 1), KEY)
