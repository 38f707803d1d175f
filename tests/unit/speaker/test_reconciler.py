from speaker.desired import DesiredL2, L2Announcement
from speaker.l2.probe import DUPLICATE, FENCE
from speaker.l2.responder import ClaimState, Interface, Responder
from speaker.membership.protocol import DownReason
from speaker.reconciler import L2Reconciler, Reason

IP = "203.0.113.10"


def desired(ranked: tuple[str, ...], ifaces=None) -> DesiredL2:
    ann = L2Announcement(IP, "p", ("default/web",), ranked, dict.fromkeys(ranked, ifaces))
    return DesiredL2({IP: ann} if ranked else {})


def setup(node: str = "n2") -> tuple[L2Reconciler, Responder]:
    r = Responder()
    r.set_interfaces(
        {"eth0": Interface("eth0", b"\x02" * 6), "eth1": Interface("eth1", b"\x04" * 6)}
    )
    return L2Reconciler(node, r, lambda: ["eth0", "eth1"]), r


def test_first_election_probes_for_duplicates() -> None:
    rec, r = setup()
    (change,) = rec.apply(desired(("n2", "n1")), 0.0, {})
    assert change.acquired and change.reason is Reason.ELECTED and change.previous is None
    assert r.state(IP) is ClaimState.PROBING
    assert r.get_timer() is not None and r.get_timer() <= DUPLICATE.spacing  # type: ignore[operator]
    assert rec.apply(desired(("n2", "n1")), 0.1, {}) == []  # level-triggered: no change


def test_takeover_reason_follows_how_the_owner_went() -> None:
    for why, reason, immediate in [
        (DownReason.LEAVE, Reason.OWNER_LEFT, True),
        (DownReason.TIMEOUT, Reason.OWNER_FAILED, False),
        (None, Reason.REBALANCE, False),
    ]:
        rec, r = setup()
        assert rec.apply(desired(("n1", "n2")), 0.0, {}) == []
        down = {} if why is None else {"n1": why}
        (change,) = rec.apply(desired(("n2",)), 1.0, down)
        assert change.reason is reason and change.previous == "n1"
        expected = ClaimState.ANNOUNCED if immediate else ClaimState.PROBING
        assert r.state(IP) is expected


def test_fence_is_short() -> None:
    rec, r = setup()
    rec.apply(desired(("n1", "n2")), 0.0, {})
    rec.apply(desired(("n2",)), 1.0, {"n1": DownReason.TIMEOUT})
    for _ in range(10):
        t = r.get_timer()
        assert t is not None
        r.handle_timer(t)
        if r.state(IP) is ClaimState.ANNOUNCED:
            break
    assert r.state(IP) is ClaimState.ANNOUNCED
    assert t <= 1.0 + FENCE.duration + 1e-9


def test_release_reasons() -> None:
    rec, r = setup()
    rec.apply(desired(("n2", "n1")), 0.0, {})
    (c,) = rec.apply(desired(("n1", "n2")), 1.0, {})
    assert not c.acquired and c.reason is Reason.OWNER_CHANGED and c.previous == "n1"
    assert r.state(IP) is None
    rec.apply(desired(("n2",)), 2.0, {})
    (c,) = rec.apply(desired(("n1",)), 3.0, {})
    assert c.reason is Reason.NOT_ELIGIBLE
    rec.apply(desired(("n2",)), 4.0, {})
    (c,) = rec.apply(desired(()), 5.0, {})
    assert c.reason is Reason.WITHDRAWN
    rec.apply(desired(("n2",)), 6.0, {})
    rec.draining = True
    (c,) = rec.apply(desired(("n2",)), 7.0, {})
    assert c.reason is Reason.DRAINING and rec.owned() == {}


def test_interfaces_are_intersected_with_what_exists() -> None:
    rec, r = setup()
    rec.apply(desired(("n1", "n2")), 0.0, {})
    rec.apply(desired(("n2",), frozenset({"eth1", "eth9"})), 0.0, {"n1": DownReason.LEAVE})
    r.handle_timer(0.0)
    assert rec.announced_services() == {("default", "web"): {"eth1"}}


def test_fenced_tells_takeovers_from_first_claims() -> None:
    rec, _ = setup()
    rec.apply(desired(("n2",)), 0.0, {})
    assert not rec.fenced(IP)  # elected: a conflict here is a real duplicate
    rec2, _ = setup()
    rec2.apply(desired(("n1", "n2")), 0.0, {})
    rec2.apply(desired(("n2",)), 1.0, {"n1": DownReason.TIMEOUT})
    assert rec2.fenced(IP)
    rec2.apply(desired(()), 2.0, {})
    assert not rec2.fenced(IP)
