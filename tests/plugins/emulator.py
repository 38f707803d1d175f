"""Emulator fixtures (owned by the emulator work).

`apiserver`: a fresh in-process Kubernetes API emulator per test (thread-backed, so the
synchronous official client works), with `.url`, `.kubeconfig` (path) and `.api_client()`.
`apiserver_with_crds`: the same with `ironlb/config/crds/*.yaml` registered.
`kubectl`: a function running the real kubectl against `apiserver`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ironlb.emulator import EmulatorThread

CRD_DIR = Path(__file__).resolve().parents[2] / "ironlb" / "config" / "crds"


class RunningApiserver:
    def __init__(
        self, thread: EmulatorThread, kubeconfig: Path, kwargs: dict[str, Any] | None = None
    ) -> None:
        self.thread = thread
        self.emulator = thread.emulator
        self.kubeconfig = str(kubeconfig)
        self._clients: list[Any] = []
        self._kwargs = kwargs or {}

    def restart(self, keep_state: bool = True) -> None:
        """Stop and start again on the same port (same kubeconfig); objects, resourceVersion
        and watch history survive unless keep_state is False (then it comes back empty)."""
        kwargs = {**self._kwargs, "port": self.emulator.port}
        state = Path(self.kubeconfig).with_name("restart-state.json")
        if keep_state and not kwargs.get("state_file"):
            self.thread.call(self.emulator.save_state, state)
            kwargs["state_file"] = state
        elif not keep_state:
            kwargs.pop("state_file", None)
        self.thread.stop()
        self.thread = EmulatorThread(**kwargs).start()
        self.emulator = self.thread.emulator

    @property
    def url(self) -> str:
        return self.thread.url

    def api_client(self) -> Any:
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(config_file=self.kubeconfig, client_configuration=configuration)
        api = client.ApiClient(configuration)
        self._clients.append(api)
        return api

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(*args) on the emulator's loop (direct store access)."""
        return self.thread.call(fn, *args)

    def close(self) -> None:
        for api in self._clients:
            api.close()
        self.thread.stop()


def start_apiserver(tmp_path: Path, crd_dirs: list[Path], **kwargs: Any) -> RunningApiserver:
    kwargs = {"crd_dirs": crd_dirs, **kwargs}
    thread = EmulatorThread(**kwargs).start()
    kubeconfig = thread.write_kubeconfig(tmp_path / "kubeconfig")
    return RunningApiserver(thread, kubeconfig, kwargs)


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[RunningApiserver]:
    server = start_apiserver(tmp_path, [])
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def apiserver_with_crds(tmp_path: Path) -> Iterator[RunningApiserver]:
    dirs = [CRD_DIR] if CRD_DIR.is_dir() else []
    server = start_apiserver(tmp_path, dirs)
    try:
        yield server
    finally:
        server.close()


Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def kubectl_for(server: RunningApiserver) -> Kubectl:
    """A function running the real kubectl against `server` (skips if kubectl is missing)."""
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl binary not found on PATH")
    # a private discovery cache: the real one would collect a directory per ephemeral port
    cache_dir = str(Path(server.kubeconfig).parent / "kubectl-cache")

    def run(
        *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [binary, "--kubeconfig", server.kubeconfig, "--cache-dir", cache_dir, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
            )
        return proc

    return run


@pytest.fixture
def kubectl(apiserver: RunningApiserver) -> Kubectl:
    return kubectl_for(apiserver)
