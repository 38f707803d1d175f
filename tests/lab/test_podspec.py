"""How the lab kubelet turns containers into processes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ironlb.lab.podspec import PodSpecError, is_ironlb_image, launches

BIN = Path("/venv/bin")


def _pod(container: dict) -> dict:
    return {
        "metadata": {"name": "speaker-x", "namespace": "ironlb-system"},
        "spec": {"nodeName": "node2", "containers": [container]},
    }


def _lookup(kind: str, ns: str, name: str, key: str) -> str | None:
    secret = {"data": {"secretkey": base64.b64encode(b"hmac").decode()}}
    if (kind, ns, name) == ("Secret", "ironlb-system", "ironlb-memberlist"):
        from ironlb.lab.podspec import decode_secret

        return decode_secret(secret, key)
    return None


def test_ironlb_image_runs_its_command_with_resolved_env():
    container = {
        "name": "speaker",
        "image": "localhost/ironlb:0.1.0",
        "command": ["ironlb"],
        "args": ["speaker", "--node-name", "$(NODE_NAME)"],
        "env": [
            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {
                "name": "ML_KEY",
                "valueFrom": {"secretKeyRef": {"name": "ironlb-memberlist", "key": "secretkey"}},
            },
        ],
    }
    [launch] = launches(_pod(container), _lookup, "198.51.100.12", "198.51.100.12", BIN)
    assert launch.ironlb
    assert launch.argv == ["/venv/bin/ironlb", "speaker", "--node-name", "node2"]
    assert launch.env == {"NODE_NAME": "node2", "ML_KEY": "hmac"}


def test_other_images_serve_the_welcome_page_on_their_ports():
    container = {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}
    [launch] = launches(_pod(container), _lookup, "198.19.12.2", "198.51.100.12", BIN)
    assert not launch.ironlb
    assert launch.ports == (80,)
    assert "ironlb.lab.podserver" in launch.argv
    assert "--port=80" in launch.argv


def test_missing_secret_key_names_pod_env_and_secret():
    container = {
        "name": "s",
        "image": "ironlb",
        "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}],
    }
    with pytest.raises(PodSpecError, match=r"speaker-x.*env K.*'nope'"):
        launches(_pod(container), _lookup, "", "", BIN)


def test_image_names():
    assert is_ironlb_image("registry.example/ironlb:0.1.0")
    assert is_ironlb_image("ironlb")
    assert not is_ironlb_image("nginx:1.27")
    assert not is_ironlb_image("docker.io/library/nginx")
