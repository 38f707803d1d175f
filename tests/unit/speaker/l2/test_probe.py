from speaker.l2.probe import FENCE, Probe, ProbeSettings, ProbeState


def test_probe_sends_count_then_clears_after_wait() -> None:
    # Binary-exact times so the arithmetic in the assertions is exact too.
    p = Probe(1.0, ProbeSettings(count=3, spacing=0.125, wait=0.25))
    assert p.get_timer() == 1.0 and p.due(1.0) == 1
    assert p.get_timer() == 1.125 and p.due(1.1) == 0 and p.due(1.125) == 1
    assert p.due(1.25) == 1
    assert p.get_timer() == 1.5
    p.handle_timer(1.49)
    assert p.state is ProbeState.PROBING
    p.handle_timer(1.5)
    assert p.state is ProbeState.CLEAR and p.get_timer() is None and p.due(2.0) == 0


def test_late_timer_sends_all_missed_probes() -> None:
    p = Probe(0.0, ProbeSettings(count=3, spacing=0.125, wait=0.25))
    assert p.due(1.0) == 3


def test_claim_during_probe_is_a_conflict() -> None:
    p = Probe(0.0, FENCE)
    p.due(0.0)
    p.heard_claim(b"\x02" * 6)
    assert p.state is ProbeState.CONFLICT and p.conflict_mac == b"\x02" * 6
    p.handle_timer(10.0)
    assert p.state is ProbeState.CONFLICT and p.get_timer() is None


def test_fence_fits_the_failover_budget() -> None:
    # 250 ms detection + fence must leave room inside 500 ms.
    assert FENCE.duration <= 0.1
