"""User errors at start-up: one line naming the object and field, exit 1, no traceback."""

import base64
import subprocess
import sys

from ironlb.kube.client import Kube
from ironlb.kube.resources import NAMESPACES, SECRETS


def run_speaker(kubeconfig: str, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "ironlb.cli.main", "speaker", "--node-name", "n1"]
    argv += ["--kubeconfig", kubeconfig, "--no-bgp", "--realtime-priority", "0", *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_missing_memberlist_secret(apiserver) -> None:
    done = run_speaker(apiserver.kubeconfig)
    assert done.returncode == 1
    assert "Secret metallb-system/memberlist: not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_secret_without_the_key_field(apiserver) -> None:
    kube = Kube(apiserver.api_client())
    kube.create(NAMESPACES, {"metadata": {"name": "metallb-system"}})
    secret = {"other": base64.b64encode(b"x").decode()}
    kube.create(
        SECRETS, {"metadata": {"name": "ml", "namespace": "metallb-system"}, "data": secret}
    )
    done = run_speaker(apiserver.kubeconfig, "--memberlist-secret", "ml")
    assert done.returncode == 1
    assert "Secret metallb-system/ml: data.secretkey: missing or empty" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_timers_are_refused(apiserver) -> None:
    done = run_speaker(
        apiserver.kubeconfig, "--heartbeat-interval", "0.5", "--suspect-timeout", "0.2"
    )
    assert done.returncode == 1 and "--heartbeat-interval" in done.stderr
    assert "Traceback" not in done.stderr
