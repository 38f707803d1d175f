from speaker.status import NODE_LABEL, build_object, object_name, plan_status, pod_owner

KEY = ("default", "web")


def test_create_when_missing() -> None:
    plan = plan_status("n1", "metallb-system", {KEY: ["eth0"]}, [])
    (obj,) = plan.create
    assert obj["metadata"]["name"] == object_name("n1", KEY)
    assert obj["metadata"]["labels"] == {
        "metallb.io/node": "n1",
        "metallb.io/service-name": "web",
        "metallb.io/service-namespace": "default",
    }
    assert obj["status"] == {
        "node": "n1",
        "serviceName": "web",
        "serviceNamespace": "default",
        "interfaces": [{"name": "eth0"}],
    }
    assert not plan.update and not plan.delete


def test_nothing_to_do_when_equal_and_update_when_different() -> None:
    obj = build_object("n1", "metallb-system", KEY, ["eth0"])
    assert not plan_status("n1", "metallb-system", {KEY: ["eth0"]}, [obj])
    plan = plan_status("n1", "metallb-system", {KEY: ["eth0", "eth1"]}, [obj])
    assert plan.update == [(obj["metadata"]["name"], {**obj["status"], "interfaces": [
        {"name": "eth0"}, {"name": "eth1"}]})]  # fmt: skip


def test_delete_stale_and_leave_other_nodes_alone() -> None:
    mine = build_object("n1", "metallb-system", KEY, ["eth0"])
    theirs = build_object("n2", "metallb-system", KEY, ["eth0"])
    dup = build_object("n1", "metallb-system", KEY, ["eth0"])
    dup["metadata"]["name"] = "l2-dup"
    plan = plan_status("n1", "metallb-system", {}, [mine, theirs])
    assert plan.delete == [mine["metadata"]["name"]]
    plan = plan_status("n1", "metallb-system", {KEY: ["eth0"]}, [mine, dup])
    assert plan.delete == ["l2-dup"] and not plan.create
    assert theirs["metadata"]["labels"][NODE_LABEL] == "n2"


def test_owner_reference_to_the_speaker_pod_when_known() -> None:
    assert pod_owner(None, "uid") is None and pod_owner("speaker-x", None) is None
    owner = pod_owner("speaker-x", "1234")
    (obj,) = plan_status("n1", "metallb-system", {KEY: ["eth0"]}, [], owner).create
    assert obj["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": "speaker-x", "uid": "1234"}
    ]
    assert "ownerReferences" not in build_object("n1", "ns", KEY, [])["metadata"]
