"""The emulator's lifecycle: store + hooks + aiohttp runner, TLS, kubeconfig, state file.

`Emulator` runs in the caller's event loop; `EmulatorThread` runs one in a thread for
synchronous code (the official client is synchronous).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from ironlb.emulator.access import AccessControl
from ironlb.emulator.allocators import ServiceHook
from ironlb.emulator.crd import CRD_KEY, CrdHook, type_from_crd
from ironlb.emulator.defaults import DefaultsHook
from ironlb.emulator.server import ApiServer
from ironlb.emulator.store import Obj, Store

DEFAULT_SERVICE_CIDRS = ("198.19.128.0/17",)


class Emulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        tls: bool = False,
        history: int = 1000,
        service_cidrs: tuple[str, ...] | list[str] = DEFAULT_SERVICE_CIDRS,
        node_port_range: tuple[int, int] = (30000, 32767),
        state_file: str | os.PathLike[str] | None = None,
        crd_dirs: tuple[str | os.PathLike[str], ...] | list[str | os.PathLike[str]] = (),
        bookmark_interval: float = 1.0,
        autosave_interval: float = 0.0,
        authorization: str = "allow-all",
    ) -> None:
        self._explicit_token = token is not None
        if authorization == "rbac" and token is None:
            token = secrets.token_urlsafe(32)  # the admin (system:masters) credential
        self.host, self.port, self.token, self.tls = host, port, token, tls
        self.state_file = Path(state_file) if state_file else None
        self.crd_dirs = [Path(d) for d in crd_dirs]
        self.store = Store(history_size=history)
        self.services = ServiceHook(list(service_cidrs), node_port_range)
        self.crds = CrdHook(self.store.register, self._drop_crd)
        self.store.hooks = [DefaultsHook(), self.services, self.crds]
        self.access = AccessControl(self.store, authorization, token)
        self.server = ApiServer(self.store, self.crds, token, bookmark_interval, access=self.access)
        self._runner: web.AppRunner | None = None
        self._ca_pem: bytes | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        # with a state file, also save every autosave_interval s (survives SIGKILL)
        self.autosave_interval = autosave_interval
        self._autosave: asyncio.Task[None] | None = None

    # ---- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        now = time.time()
        if self.state_file and self.state_file.exists():
            self._load_state(json.loads(self.state_file.read_text()))
        else:
            self.store.bootstrap(now)
        for d in self.crd_dirs:
            self.load_manifests(sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")))
        self._runner = web.AppRunner(self.server.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl_context())
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        self.server.address = f"{self.host}:{self.port}"
        if self.state_file and self.autosave_interval > 0:
            self._autosave = asyncio.create_task(self._autosave_loop())

    async def _autosave_loop(self) -> None:
        saved = self.store.rv
        while True:
            await asyncio.sleep(self.autosave_interval)
            if self.store.rv != saved and self.state_file:
                saved = self.store.rv
                self.save_state(self.state_file)

    async def stop(self) -> None:
        if self._autosave is not None:
            self._autosave.cancel()
            self._autosave = None
        self.server.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.state_file:
            self.save_state(self.state_file)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    # ---- objects from files ------------------------------------------------------------
    def load_manifests(self, paths: list[Path]) -> None:
        """Create (or leave in place) the objects in YAML files: CRDs first."""
        docs = []
        for p in paths:
            docs += [d for d in yaml.safe_load_all(p.read_text()) if isinstance(d, dict)]
        docs.sort(key=lambda d: d.get("kind") != "CustomResourceDefinition")
        for doc in docs:
            self.apply_object(doc)

    def apply_object(self, doc: Obj) -> Obj:
        group, _, version = doc.get("apiVersion", "").rpartition("/")
        rt = next(
            (
                t
                for t in self.store.types.values()
                if t.group == group and t.kind == doc.get("kind") and version in t.versions
            ),
            None,
        )
        if rt is None:
            raise ValueError(f"unknown kind {doc.get('apiVersion')}/{doc.get('kind')}")
        md = doc.get("metadata", {})
        ns = (md.get("namespace") or "default") if rt.namespaced else ""
        existing = self.store.peek(rt.key, ns, md.get("name", ""))
        if existing is not None:
            return existing
        return self.store.create(rt, ns, doc, time.time())

    def _drop_crd(self, crd: Obj) -> None:
        key = (crd["spec"]["group"], crd["spec"]["names"]["plural"])
        self.store.remove_type_objects(key, time.time())
        self.store.unregister(key)

    # ---- state -----------------------------------------------------------------------
    def save_state(self, path: str | os.PathLike[str]) -> None:
        tmp = Path(f"{path}.tmp")
        data = self.store.snapshot()
        if self.access.authn is not None:
            # rbac mode: the admin and ServiceAccount tokens survive a restart (file is 0600)
            data["auth"] = {"adminToken": self.token, "tokens": self.access.authn.export()}
            tmp.touch(mode=0o600)
            tmp.chmod(0o600)
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    def _load_state(self, data: dict[str, Any]) -> None:
        self.store.bootstrap_types()
        for entry in data.get("objects", []):
            if (entry["group"], entry["plural"]) == CRD_KEY:
                self.store.register(type_from_crd(entry["object"]))
        self.store.restore(data)
        self.services.rebuild(list(self.store.items(("", "services"))))
        auth = data.get("auth")
        if auth and self.access.authn is not None:
            if not self._explicit_token:
                self.token = self.access.token = self.access.authn.admin_token = auth["adminToken"]
            self.access.authn.restore(auth.get("tokens", []))

    # ---- TLS and kubeconfig ----------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        from ironlb.emulator.tls import self_signed

        cert_pem, key_pem = self_signed(self.host)
        self._ca_pem = cert_pem
        self._tmp = tempfile.TemporaryDirectory(prefix="ironlb-emu-")
        cert = Path(self._tmp.name) / "tls.crt"
        key = Path(self._tmp.name) / "tls.key"
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        key.chmod(0o600)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def kubeconfig(self, token: str | None = None) -> Obj:
        """The admin kubeconfig, or one carrying `token` (e.g. a ServiceAccount's)."""
        ca = base64.b64encode(self._ca_pem).decode() if self._ca_pem is not None else None
        return kubeconfig_dict(self.url, token or self.token, ca)

    def write_kubeconfig(self, path: str | os.PathLike[str], token: str | None = None) -> Path:
        return write_kubeconfig(path, self.kubeconfig(token))

    def service_account_token(
        self, namespace: str, name: str, expiration_seconds: int = 86400
    ) -> str:
        """Mint a token for an existing ServiceAccount, as its TokenRequest API does
        (call on the emulator's loop; `EmulatorThread.service_account_kubeconfig` does)."""
        body = {"spec": {"expirationSeconds": expiration_seconds}}
        out = self.access.token_request(namespace, name, body, time.time())
        return str(out["status"]["token"])


def kubeconfig_dict(server: str, token: str | None, ca_data: str | None = None) -> Obj:
    cluster: Obj = {"server": server}
    if ca_data is not None:
        cluster["certificate-authority-data"] = ca_data
    user: Obj = {"token": token} if token else {}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": cluster}],
        "users": [{"name": "emulator", "user": user}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator"}}],
        "current-context": "emulator",
        "preferences": {},
    }


def write_kubeconfig(path: str | os.PathLike[str], config: Obj) -> Path:
    out = Path(path)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    out.chmod(0o600)
    return out


class EmulatorThread:
    """An `Emulator` on its own event loop in a daemon thread, for synchronous callers."""

    def __init__(self, **kwargs: Any) -> None:
        self.emulator = Emulator(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="ironlb-emulator"
        )

    def start(self) -> EmulatorThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.emulator.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` on the emulator's loop (the store is not thread-safe)."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    @property
    def url(self) -> str:
        return self.emulator.url

    def write_kubeconfig(self, path: str | os.PathLike[str]) -> Path:
        return self.emulator.write_kubeconfig(path)

    def service_account_kubeconfig(
        self,
        namespace: str,
        name: str,
        path: str | os.PathLike[str],
        expiration_seconds: int = 86400,
    ) -> Path:
        """Write a kubeconfig authenticating as ServiceAccount namespace/name."""
        token = self.call(self.emulator.service_account_token, namespace, name, expiration_seconds)
        return self.emulator.write_kubeconfig(path, token)

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
