from collections import Counter

from speaker import metrics


def test_delta_sync_copies_only_growth() -> None:
    sync = metrics.DeltaSync(metrics.FRAMES_IGNORED)
    sample = metrics.REGISTRY.get_sample_value
    name = "ironlb_speaker_l2_frames_ignored_total"
    before = sample(name, {"reason": "zz_test"}) or 0.0
    counts: Counter[str] = Counter(zz_test=3)
    sync.sync(counts)
    sync.sync(counts)
    counts["zz_test"] += 2
    sync.sync(counts)
    assert sample(name, {"reason": "zz_test"}) == before + 5
