"""Property tests of the emulator's pure cores: store history, patches, selectors."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from ironlb.emulator.errors import ApiError
from ironlb.emulator.patch import merge_patch, strategic_merge
from ironlb.emulator.selectors import label_matcher
from ironlb.emulator.store import Store

NAMES = st.sampled_from(["a", "b", "c", "d"])
OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "delete", "finalize"]), NAMES, st.integers(0, 3)
    ),
    max_size=40,
)


def _state(store: Store) -> dict:
    return {k: v for k, v in store.objects[("", "configmaps")].items() if k[0] == "default"}


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_past_states_rebuilt_from_history_match_snapshots(ops) -> None:
    store = Store(history_size=10_000)
    store.bootstrap(0.0)
    rt = store.types[("", "configmaps")]
    snapshots = {store.rv: copy.deepcopy(_state(store))}
    for op, name, value in ops:
        try:
            if op == "create":
                meta = {"name": name, "finalizers": ["x"] if value == 3 else []}
                store.create(rt, "default", {"metadata": meta, "data": {"v": str(value)}}, 1.0)
            elif op == "update":
                obj = store.get(rt, "default", name)
                obj["data"] = {"v": str(value)}
                store.update(rt, "default", name, obj, 2.0)
            elif op == "delete":
                store.delete(rt, "default", name, 3.0)
            else:
                obj = store.get(rt, "default", name)
                obj["metadata"]["finalizers"] = []
                store.update(rt, "default", name, obj, 4.0)
        except ApiError:
            continue
        snapshots[store.rv] = copy.deepcopy(_state(store))
    rvs = [int(o["metadata"]["resourceVersion"]) for o in _state(store).values()]
    assert all(rv <= store.rv for rv in rvs)
    for rv, snap in snapshots.items():
        past = {
            k: v for k, v in store.state_at(("", "configmaps"), rv).items() if k[0] == "default"
        }
        assert past == snap
    # the history is strictly increasing and replaying it from the start ends in the present
    history = [e.rv for e in store.history]
    assert history == sorted(set(history))


JSONISH = st.recursive(
    st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=3)),
    lambda children: st.dictionaries(st.text("abc", max_size=2), children, max_size=3),
    max_leaves=10,
)
OBJ = st.dictionaries(st.text("abcd", max_size=2), JSONISH, max_size=4)


@given(OBJ, OBJ)
def test_merge_patch_is_idempotent(target, patch) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@given(OBJ)
def test_empty_patches_change_nothing(target) -> None:
    assert merge_patch(target, {}) == target
    assert strategic_merge(target, {}) == target


@given(
    st.lists(st.sampled_from(["a", "b", "c"]), unique=True),
    st.lists(st.sampled_from(["b", "c", "d"]), unique=True),
)
def test_strategic_merge_of_containers_keeps_names_unique(current, patch) -> None:
    target = {"spec": {"containers": [{"name": n, "image": "old"} for n in current]}}
    out = strategic_merge(
        target, {"spec": {"containers": [{"name": n, "image": "new"} for n in patch]}}
    )
    names = [c["name"] for c in out["spec"]["containers"]]
    assert names == current + [n for n in patch if n not in current]
    assert all(
        c["image"] == ("new" if c["name"] in patch else "old") for c in out["spec"]["containers"]
    )


LABELS = st.dictionaries(
    st.sampled_from(["app", "tier", "x"]), st.sampled_from(["1", "2"]), max_size=3
)


@given(LABELS, st.sampled_from(["app", "tier", "x"]), st.sampled_from(["1", "2"]))
def test_selector_forms_agree(labels, key, value) -> None:
    obj = {"metadata": {"labels": labels}}
    eq = label_matcher(f"{key}={value}")(obj)
    assert eq == label_matcher(f"{key} in ({value})")(obj) == label_matcher(f"{key}=={value}")(obj)
    assert label_matcher(f"{key}!={value}")(obj) == (not eq)
    assert label_matcher(f"{key} notin ({value})")(obj) == (not eq)
    assert label_matcher(key)(obj) == (key in labels)
    assert label_matcher(f"!{key}")(obj) == (key not in labels)


def test_watch_selection_transitions() -> None:
    from ironlb.emulator.store import WatchEvent
    from ironlb.emulator.watch import select

    def obj(app: str) -> dict:
        return {"metadata": {"name": "o", "namespace": "ns", "labels": {"app": app}}}

    match = label_matcher("app=x")
    key = ("", "configmaps")
    cases = [
        (WatchEvent(1, key, "ADDED", obj("x")), "ADDED"),
        (WatchEvent(2, key, "ADDED", obj("y")), None),
        (WatchEvent(3, key, "MODIFIED", obj("x"), obj("x")), "MODIFIED"),
        (WatchEvent(4, key, "MODIFIED", obj("y"), obj("x")), "DELETED"),
        (WatchEvent(5, key, "MODIFIED", obj("x"), obj("y")), "ADDED"),
        (WatchEvent(6, key, "MODIFIED", obj("y"), obj("y")), None),
        (WatchEvent(7, key, "DELETED", obj("x"), obj("x")), "DELETED"),
        (WatchEvent(8, key, "DELETED", obj("y"), obj("y")), None),
        (WatchEvent(9, ("", "secrets"), "ADDED", obj("x")), None),
    ]
    for ev, expected in cases:
        got = select(ev, key, "ns", match)
        assert (got[0] if got else None) == expected, ev
    assert select(WatchEvent(1, key, "ADDED", obj("x")), key, "other", match) is None
