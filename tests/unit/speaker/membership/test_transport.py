import asyncio

from speaker.membership.codec import Kind, Message, encode
from speaker.membership.protocol import MemberDown, Membership, MemberUp, Settings
from speaker.membership.transport import MembershipTransport, node_address, peers_from_nodes


def node(name: str, *addrs: tuple[str, str]) -> dict:
    return {
        "metadata": {"name": name},
        "status": {"addresses": [{"type": t, "address": a} for t, a in addrs]},
    }


def test_peer_address_prefers_internal_ipv4() -> None:
    n = node("a", ("Hostname", "a"), ("ExternalIP", "203.0.113.5"), ("InternalIP", "2001:db8::1"))
    n["status"]["addresses"].append({"type": "InternalIP", "address": "198.51.100.1"})
    assert node_address(n) == "2001:db8::1"
    assert peers_from_nodes([n, node("b", ("Hostname", "b"))], 7946) == {
        "a": ("198.51.100.1", 7946)
    }


async def test_two_transports_over_real_udp_see_each_other_and_leave() -> None:
    s = Settings(interval=0.02, suspect_timeout=0.1)
    seen: dict[str, list] = {"a": [], "b": []}
    key = b"test-key"
    ta = MembershipTransport(Membership("a", key, 1, s), seen["a"].append, ("127.0.0.1", 0))
    tb = MembershipTransport(Membership("b", key, 1, s), seen["b"].append, ("127.0.0.1", 0))
    await ta.start()
    await tb.start()
    pa = ta._transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
    pb = tb._transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
    peers = {"a": ("127.0.0.1", pa), "b": ("127.0.0.1", pb)}
    ta.set_peers(peers)
    tb.set_peers(peers)
    for _ in range(100):
        if seen["a"] and seen["b"]:
            break
        await asyncio.sleep(0.01)
    assert seen["a"] == [MemberUp("b")] and seen["b"] == [MemberUp("a")]
    # A stranger with the wrong key is dropped and counted, not believed.
    ta.received(encode(Message(Kind.LEAVE, "b", 9, 9), b"wrong"), ("127.0.0.1", pb))
    assert ta.core.dropped["signature"] == 1 and "b" in ta.core.up_members()
    tb.leave()
    for _ in range(100):
        if len(seen["a"]) == 2:
            break
        await asyncio.sleep(0.01)
    assert seen["a"][-1] == MemberDown("b", "leave")  # type: ignore[arg-type]
    ta.close()
    tb.close()


async def test_dual_stack_socket_reaches_ipv4_peers() -> None:
    s = Settings(interval=0.02, suspect_timeout=0.1)
    seen: list = []
    key = b"test-key"
    t6 = MembershipTransport(Membership("a", key, 1, s), seen.append, ("::", 0))
    t4 = MembershipTransport(Membership("b", key, 1, s), lambda _e: None, ("127.0.0.1", 0))
    await t6.start()
    await t4.start()
    p6 = t6._transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
    p4 = t4._transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
    t6.set_peers({"b": ("127.0.0.1", p4)})
    t4.set_peers({"a": ("127.0.0.1", p6)})
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == [MemberUp("b")] and t6.send_errors == 0
    t6.close()
    t4.close()
