"""RBAC enforcement over HTTP: the official client and the real kubectl against an emulator
started with `authorization="rbac"` (TLS: kubectl sends bearer tokens only over HTTPS)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from ironlb.emulator.kubeconfig import service_account_kubeconfig
from tests.plugins.emulator import RunningApiserver, kubectl_for, start_apiserver

NS = "metallb-system"
SPEAKER_USER = f"system:serviceaccount:{NS}:ironlb-speaker"


@pytest.fixture
def rbac_server(tmp_path: Path) -> Iterator[RunningApiserver]:
    server = start_apiserver(tmp_path, [], authorization="rbac", tls=True)
    try:
        core = client.CoreV1Api(server.api_client())
        core.create_namespace({"metadata": {"name": NS}})
        core.create_namespaced_service_account(NS, {"metadata": {"name": "ironlb-speaker"}})
        core.create_namespaced_service(
            "default", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
        )
        yield server
    finally:
        server.close()


def client_for(kubeconfig: Path | str) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return client.ApiClient(configuration)


def speaker_kubeconfig(server: RunningApiserver, tmp_path: Path) -> Path:
    return server.thread.service_account_kubeconfig(NS, "ironlb-speaker", tmp_path / "speaker")


def grant_speaker(server: RunningApiserver) -> None:
    rbac_api = client.RbacAuthorizationV1Api(server.api_client())
    rbac_api.create_cluster_role(
        {
            "metadata": {"name": "svc-reader"},
            "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list"]}],
        }
    )
    rbac_api.create_namespaced_role_binding(
        "default",
        {
            "metadata": {"name": "svc-reader"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "svc-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "ironlb-speaker", "namespace": NS}],
        },
    )


def body(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def test_unauthenticated_requests_get_the_apiserver_401(rbac_server: RunningApiserver) -> None:
    url = f"{rbac_server.url}/api/v1/namespaces"
    assert url.startswith("https://")
    for token in (None, "not-a-token"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(
                urllib.request.Request(url, headers=headers), context=_insecure()
            )
        assert exc.value.code == 401
        assert json.loads(exc.value.read()) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
        exc.value.close()
    # health and version stay open, as system:public-info-viewer makes them
    with urllib.request.urlopen(f"{rbac_server.url}/version", context=_insecure()) as resp:
        assert json.loads(resp.read())["minor"] == "32"


def _insecure() -> Any:
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_token_request_mints_a_service_account_token(
    rbac_server: RunningApiserver, tmp_path: Path
) -> None:
    core = client.CoreV1Api(rbac_server.api_client())
    listed = core.get_api_resources().resources
    token_res = next(r for r in listed if r.name == "serviceaccounts/token")
    assert (token_res.kind, token_res.group, token_res.verbs) == (
        "TokenRequest",
        "authentication.k8s.io",
        ["create"],
    )
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_service_account_token("nobody", NS, {"spec": {}})
    assert missing.value.status == 404
    assert body(missing.value)["message"] == 'serviceaccounts "nobody" not found'
    out = core.create_namespaced_service_account_token(
        "ironlb-speaker", NS, {"spec": {"expirationSeconds": 1200}}
    )
    assert out.kind == "TokenRequest" and out.api_version == "authentication.k8s.io/v1"
    assert out.status.token and out.status.expiration_timestamp is not None
    assert out.spec.expiration_seconds == 1200
    with pytest.raises(ApiException) as short:
        core.create_namespaced_service_account_token(
            "ironlb-speaker", NS, {"spec": {"expirationSeconds": 60}}
        )
    assert short.value.status == 422

    # the token works (and is the speaker: the 403 names it) until its account is deleted
    kc = tmp_path / "sa"
    kc.write_text(
        yaml.safe_dump(
            {
                **yaml.safe_load(Path(rbac_server.kubeconfig).read_text()),
                "users": [{"name": "emulator", "user": {"token": out.status.token}}],
            }
        )
    )
    sa_core = client.CoreV1Api(client_for(kc))
    with pytest.raises(ApiException) as denied:
        sa_core.list_namespaced_secret(NS)
    assert denied.value.status == 403
    assert f'User "{SPEAKER_USER}"' in body(denied.value)["message"]
    core.delete_namespaced_service_account("ironlb-speaker", NS)
    with pytest.raises(ApiException) as gone:
        sa_core.list_namespaced_secret(NS)
    assert gone.value.status == 401


def test_denials_are_403_statuses_worded_like_kube_apiserver(
    rbac_server: RunningApiserver, tmp_path: Path
) -> None:
    sa = client.CoreV1Api(client_for(speaker_kubeconfig(rbac_server, tmp_path)))
    with pytest.raises(ApiException) as patch:
        sa.patch_namespaced_service("web", "default", {"metadata": {"labels": {"a": "b"}}})
    assert patch.value.status == 403
    assert body(patch.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'services "web" is forbidden: User "{SPEAKER_USER}" cannot patch resource'
        ' "services" in API group "" in the namespace "default"',
        "reason": "Forbidden",
        "details": {"name": "web", "kind": "services"},
        "code": 403,
    }
    with pytest.raises(ApiException) as lst:
        sa.list_service_for_all_namespaces()
    assert body(lst.value)["message"] == (
        f'services is forbidden: User "{SPEAKER_USER}" cannot list resource "services" in API'
        ' group "" at the cluster scope'
    )
    coord = client.CoordinationV1Api(sa.api_client)
    with pytest.raises(ApiException) as lease:
        coord.create_namespaced_lease(NS, {"metadata": {"name": "x"}})
    assert body(lease.value)["message"] == (
        f'leases.coordination.k8s.io is forbidden: User "{SPEAKER_USER}" cannot create resource'
        ' "leases" in API group "coordination.k8s.io" in the namespace "metallb-system"'
    )
    assert body(lease.value)["details"] == {"group": "coordination.k8s.io", "kind": "leases"}


def test_grants_follow_bindings_and_watches_are_checked_at_open(
    rbac_server: RunningApiserver, tmp_path: Path
) -> None:
    sa = client.CoreV1Api(client_for(speaker_kubeconfig(rbac_server, tmp_path)))
    with pytest.raises(ApiException) as before:
        sa.list_namespaced_service("default")
    assert before.value.status == 403
    grant_speaker(rbac_server)  # ClusterRole svc-reader via a RoleBinding in default
    assert [s.metadata.name for s in sa.list_namespaced_service("default").items] == ["web"]
    assert sa.read_namespaced_service("web", "default").metadata.name == "web"
    with pytest.raises(ApiException) as elsewhere:
        sa.list_namespaced_service(NS)
    assert elsewhere.value.status == 403
    with pytest.raises(ApiException) as status:
        sa.patch_namespaced_service_status("web", "default", {"status": {}})
    assert 'cannot patch resource "services/status"' in body(status.value)["message"]
    with pytest.raises(ApiException) as watch:
        sa.list_namespaced_service("default", watch=True, _preload_content=False)
    assert watch.value.status == 403
    assert 'cannot watch resource "services"' in body(watch.value)["message"]


def test_access_reviews_answer_with_the_evaluator(
    rbac_server: RunningApiserver, tmp_path: Path
) -> None:
    grant_speaker(rbac_server)
    authz = client.AuthorizationV1Api(rbac_server.api_client())

    def sar(verb: str, ns: str) -> Any:
        return authz.create_subject_access_review(
            {
                "spec": {
                    "user": SPEAKER_USER,
                    "groups": ["system:serviceaccounts", f"system:serviceaccounts:{NS}"],
                    "resourceAttributes": {"verb": verb, "resource": "services", "namespace": ns},
                }
            }
        ).status

    yes = sar("list", "default")
    assert yes.allowed is True and 'RoleBinding "svc-reader/default"' in yes.reason
    assert sar("patch", "default").allowed is False
    assert sar("list", "kube-system").allowed is False
    # the SA may not ask about others, but may ask about itself
    sa_authz = client.AuthorizationV1Api(client_for(speaker_kubeconfig(rbac_server, tmp_path)))
    with pytest.raises(ApiException) as other:
        sa_authz.create_subject_access_review({"spec": {"user": "x", "nonResourceAttributes": {}}})
    assert other.value.status == 403
    own = sa_authz.create_self_subject_access_review(
        {
            "spec": {
                "resourceAttributes": {
                    "verb": "get",
                    "resource": "services",
                    "namespace": "default",
                }
            }
        }
    )
    assert own.status.allowed is True


def test_kubectl_auth_can_i_and_create_token_with_a_service_account(
    rbac_server: RunningApiserver, tmp_path: Path
) -> None:
    admin = kubectl_for(rbac_server)
    token = admin("create", "token", "ironlb-speaker", "-n", NS).stdout.strip()
    assert token
    sa_kc = speaker_kubeconfig(rbac_server, tmp_path)
    cache = str(tmp_path / "sa-cache")

    def sa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(sa_kc), "--cache-dir", cache, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    no = sa("auth", "can-i", "list", "services", "-n", "default")
    assert (no.returncode, no.stdout.strip()) == (1, "no")
    grant_speaker(rbac_server)
    yes = sa("auth", "can-i", "list", "services", "-n", "default")
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes")
    assert sa("auth", "can-i", "patch", "services", "-n", "default").stdout.strip() == "no"
    assert sa("auth", "can-i", "list", "services", "-n", NS).stdout.strip() == "no"
    got = sa("get", "svc", "-n", "default", "-o", "name")
    assert got.stdout.strip() == "service/web", got.stderr
    denied = sa("get", "secrets", "-n", NS)
    assert denied.returncode == 1
    assert (
        f'secrets is forbidden: User "{SPEAKER_USER}" cannot list resource "secrets"'
        in denied.stderr
    )
    listed = sa("auth", "can-i", "--list", "-n", "default")
    assert "services" in listed.stdout and "[get list]" in listed.stdout
    # the admin may impersonate; the impersonated user gets its own answers
    as_sa = admin("auth", "can-i", "patch", "services", f"--as={SPEAKER_USER}", check=False)
    assert as_sa.stdout.strip() == "no"


def test_command_line_writes_service_account_kubeconfigs(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "sa.yaml").write_text(
        yaml.safe_dump_all(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "ironlb-speaker", "namespace": NS},
                },
            ]
        )
    )
    admin_kc, sa_kc = tmp_path / "admin", tmp_path / "sa"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ironlb.emulator",
            "--authorization",
            "rbac",
            "--crds",
            str(manifests),
            "--kubeconfig",
            str(admin_kc),
            "--sa-kubeconfig",
            f"{NS}/ironlb-speaker={sa_kc}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])},
    )
    try:
        deadline = time.monotonic() + 20
        while not sa_kc.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert sa_kc.exists(), proc.stdout.read().decode() if proc.stdout else ""
        sa = client.CoreV1Api(client_for(sa_kc))
        with pytest.raises(ApiException) as denied:
            sa.list_namespace()
        assert f'User "{SPEAKER_USER}"' in body(denied.value)["message"]
        # the same through the HTTP helper, from the admin kubeconfig
        again = service_account_kubeconfig(admin_kc, NS, "ironlb-speaker", tmp_path / "sa2")
        with pytest.raises(ApiException) as denied2:
            client.CoreV1Api(client_for(again)).list_namespace()
        assert denied2.value.status == 403
        with pytest.raises(urllib.error.HTTPError) as missing:
            service_account_kubeconfig(admin_kc, NS, "nobody", tmp_path / "sa3")
        assert missing.value.code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_allow_all_mode_is_unchanged(apiserver: RunningApiserver, tmp_path: Path) -> None:
    core = client.CoreV1Api(apiserver.api_client())
    core.create_namespaced_service_account("default", {"metadata": {"name": "x"}})
    # no credentials needed, reviews say yes, a minted token is accepted like any request
    with urllib.request.urlopen(f"{apiserver.url}/api/v1/namespaces/default/secrets") as resp:
        assert resp.status == 200
    tr = core.create_namespaced_service_account_token("x", "default", {"spec": {}})
    assert tr.kind == "TokenRequest"
    authz = client.AuthorizationV1Api(apiserver.api_client())
    review = authz.create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}}
    )
    assert review.status.allowed is True
    sa_kc = apiserver.thread.service_account_kubeconfig("default", "x", tmp_path / "x")
    assert client.CoreV1Api(client_for(sa_kc)).list_namespaced_secret("default").items == []


def test_tokens_survive_a_restart_with_state(tmp_path: Path) -> None:
    # plain HTTP: a TLS emulator makes a new certificate at every start
    server = start_apiserver(tmp_path, [], authorization="rbac")
    try:
        admin = client.CoreV1Api(server.api_client())
        admin.create_namespace({"metadata": {"name": NS}})
        admin.create_namespaced_service_account(NS, {"metadata": {"name": "ironlb-speaker"}})
        sa_kc = speaker_kubeconfig(server, tmp_path)
        server.restart(keep_state=True)
        # the admin kubeconfig written before the restart and the minted token still work
        admin = client.CoreV1Api(client_for(server.kubeconfig))
        assert admin.read_namespace(NS).metadata.name == NS
        sa = client.CoreV1Api(client_for(sa_kc))
        with pytest.raises(ApiException) as denied:
            sa.list_namespaced_secret(NS)
        assert denied.value.status == 403  # authenticated: the token is still known
        assert (
            oct(Path(server.kubeconfig).with_name("restart-state.json").stat().st_mode)[-3:]
            == "600"
        )
        server.restart(keep_state=False)
        with pytest.raises(ApiException) as gone:
            sa.list_namespaced_secret(NS)
        assert gone.value.status == 401
    finally:
        server.close()
