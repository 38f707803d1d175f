"""A real etcd + kube-apiserver for the tests, started once per test session (envtest-style).

The binaries come from ``tools/gobuild/build --print-dir etcd kubernetes`` (the pinned release,
built from its Go modules into a cache outside the checkout); they are resolved at the end of
collection, outside any test's timeout, and only when a collected test needs the server. If they
cannot be built (no Go toolchain, a failed build) every test needing them is skipped with the
reason. ``IRONLB_KUBEAPI_BIN_DIRS`` (directories, ``:``-separated) skips the build.

The server listens on 127.0.0.1 (free ports) in the root network namespace: etcd on plain HTTP
(loopback only, data dir in a temporary directory), kube-apiserver on HTTPS with certificates
made here (a CA, a serving certificate for 127.0.0.1/localhost, an admin client certificate in
``system:masters``), ``--authorization-mode=Node,RBAC``, service-account signing keys (so
TokenRequest works), the default admission plugins plus NodeRestriction, and dual-stack Service
ranges (198.19.128.0/17 and 2001:db8:ffff::/112). The metallb.io CRDs from
``ironlb/config/crds`` are installed and Established before the first test runs. No
kube-controller-manager runs (as with envtest): namespaces are emptied and finalized by the
fixtures, and "default" ServiceAccounts are created by :meth:`KubeApiServer.ensure_namespace`.

ConfigMap watches bypass the apiserver's watch cache (``--watch-cache-sizes=configmaps#0``):
they are served from etcd, so :meth:`KubeApiServer.compact` (an etcd compaction, what ends a
watch history on a real cluster) makes an old resourceVersion answer ``410 Gone``. Tests use
ConfigMaps as their scratch resource for that.

Fixtures:

``kube_apiserver`` (session)
    The :class:`KubeApiServer`. Use it directly only through :meth:`KubeApiServer.scope`.
``apiserver`` (function)
    A :class:`ApiserverScope` on the shared server: ``.url``, ``.kubeconfig`` (admin),
    ``.api_client()``, ``.service_account_kubeconfig()``, ``.ensure_namespace()``. When the test
    ends its API clients are closed and the cluster is reset to what it was when the server
    started: every object created since (any namespace, cluster-scoped ones, CRDs) is deleted,
    and namespaces created since are emptied, deleted and finalized.
``kube_namespace`` (function)
    A fresh namespace with a unique name (and its "default" ServiceAccount).
``kubectl`` (function)
    Runs the preinstalled kubectl against ``apiserver``; ``kube_namespace`` is its default
    namespace (its kubeconfig context's, so ``-n``/``-A`` and manifests override it).
``fresh_kube_apiserver`` (function)
    ``fresh_kube_apiserver(crds=True, extra_args=())``: a server of the test's own (about
    5 s each), for what the shared one cannot do: other flags, or being stopped for good.
    Each is stopped when the test ends.

A test may also stop and start the shared kube-apiserver (``apiserver.stop_apiserver()`` /
``start_apiserver()``; etcd keeps the data): the scope's end starts it again if need be.
Every process is stopped by the pid this module started; a run killed outright leaves its
pids and directory behind, and the next session removes them (:func:`cleanup_stale`).

Outside pytest (the ironlb role's molecule scenario, bench/allocator.py), from the
repository root: ``python -m tests.plugins.kubeapi serve --kubeconfig PATH`` starts the same
server (CRDs installed; ``--no-crds``, ``--apiserver-arg=FLAG``), writes the admin kubeconfig
to PATH once it is ready, prints one JSON line (``url``, ``kubeconfig``, ``pid``,
``workdir``, ``started_s``) and runs until SIGTERM/SIGINT/SIGHUP; then it stops etcd and
kube-apiserver and removes its directory and PATH. Python callers can also use
:class:`KubeApiServer` directly (bench/l2_failover.py does).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "ironlb" / "config" / "crds"
BUILD = REPO / "tools" / "gobuild" / "build"
BIN_DIRS_ENV = "IRONLB_KUBEAPI_BIN_DIRS"
SERVICE_CIDRS = ("198.19.128.0/17", "2001:db8:ffff::/112")
ADMIN_USER = "ironlb-test-admin"
BUILD_TIMEOUT = 45 * 60.0  # a cold build of the pinned release takes minutes on 2 cores
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
FIXTURES = ("kube_apiserver", "fresh_kube_apiserver")
WORKDIR_PREFIX = "ironlb-kubeapi-"

Obj = dict[str, Any]


class KubeApiError(RuntimeError):
    pass


class ProcessExited(KubeApiError):
    """A child exited while starting (a port taken since we probed it, or worse)."""


# --------------------------------------------------------------------------------- binaries


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path


_binaries: Binaries | str | None = None  # resolved once: the binaries, or why not


def resolve_binaries() -> Binaries | str:
    """The etcd and kube-apiserver binaries, or a sentence saying why there are none."""
    global _binaries
    if _binaries is None:
        _binaries = _find_binaries()
    return _binaries


def _find_binaries() -> Binaries | str:
    override = os.environ.get(BIN_DIRS_ENV)
    if override:
        dirs = [Path(d) for d in override.split(":") if d]
    else:
        if shutil.which("go") is None:
            return "no Go toolchain on PATH to build etcd and kube-apiserver (tools/gobuild)"
        try:
            done = subprocess.run(
                [str(BUILD), "--print-dir", "etcd", "kubernetes"],
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                cwd=REPO,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"tools/gobuild/build etcd kubernetes did not finish: {exc}"
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-5:]
            return f"tools/gobuild/build etcd kubernetes failed: {' | '.join(tail)}"
        dirs = [Path(line) for line in done.stdout.split() if line]
    found: dict[str, Path] = {}
    for name in ("etcd", "kube-apiserver"):
        for d in dirs:
            if (d / name).is_file():
                found.setdefault(name, d / name)
        if name not in found:
            return f"no {name} in {', '.join(map(str, dirs)) or 'the build output'}"
    return Binaries(found["etcd"], found["kube-apiserver"])


def require_binaries() -> Binaries:
    found = resolve_binaries()
    if isinstance(found, str):
        pytest.skip(f"real kube-apiserver unavailable: {found}")
    return found


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build (or find in the cache) the binaries before any test runs, outside test timeouts."""
    if not any(set(FIXTURES) & set(getattr(i, "fixturenames", ())) for i in session.items):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    # Say so if it takes long: a cold build runs for minutes with nothing else to show.
    notice = threading.Timer(
        5.0,
        lambda: (
            reporter
            and reporter.write_line(
                "waiting for tools/gobuild/build etcd kubernetes (a cold build takes minutes)..."
            )
        ),
    )
    notice.start()
    try:
        resolve_binaries()
    finally:
        notice.cancel()


# ------------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pki:
    dir: Path
    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_public: Path
    sa_private: Path


def make_pki(directory: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    pem = serialization.Encoding.PEM

    def name(cn: str, org: str | None = None) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    def key_usage(ca: bool) -> x509.KeyUsage:
        off = ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
        return x509.KeyUsage(
            digital_signature=True,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
            **dict.fromkeys(off, False),
        )

    def write_key(path: Path, k: ec.EllipticCurvePrivateKey) -> None:
        fmt = serialization.PrivateFormat.PKCS8
        path.write_bytes(k.private_bytes(pem, fmt, serialization.NoEncryption()))
        path.chmod(0o600)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("ironlb-test-ca")

    def certificate(
        subject: x509.Name, public_key: Any, *, ca: bool = False, extensions: Any = ()
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(key_usage(ca), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
            )
        else:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
            builder = builder.add_extension(aki, critical=False)
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    ca = certificate(ca_name, ca_key.public_key(), ca=True)
    serving_key = ec.generate_private_key(ec.SECP256R1())
    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
    dns.append("kubernetes.default.svc.cluster.local")
    ips = ["127.0.0.1", "::1", str(next(ipaddress.ip_network(SERVICE_CIDRS[0]).hosts()))]
    sans = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    sans += [x509.DNSName(n) for n in dns]
    serving = certificate(
        name("kube-apiserver"),
        serving_key.public_key(),
        extensions=[
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
            x509.SubjectAlternativeName(sans),
        ],
    )
    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin = certificate(
        name(ADMIN_USER, "system:masters"),
        admin_key.public_key(),
        extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])],
    )
    sa_key = ec.generate_private_key(ec.SECP256R1())

    pki = Pki(
        dir=directory,
        ca_cert=directory / "ca.crt",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        admin_cert=directory / "admin.crt",
        admin_key=directory / "admin.key",
        sa_public=directory / "sa.pub",
        sa_private=directory / "sa.key",
    )
    pki.ca_cert.write_bytes(ca.public_bytes(pem))
    pki.serving_cert.write_bytes(serving.public_bytes(pem))
    write_key(pki.serving_key, serving_key)
    pki.admin_cert.write_bytes(admin.public_bytes(pem))
    write_key(pki.admin_key, admin_key)
    write_key(pki.sa_private, sa_key)
    pki.sa_public.write_bytes(
        sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return pki


def _manifest(api_version: str, kind: str, name: str | None, namespace: str | None = None) -> Obj:
    metadata = {"name": name} if name else {}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, url: str, ca: Path, user: dict[str, str]) -> Path:
    """A kubeconfig for `url` with the CA and the `user` entry embedded (no other files)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "ironlb-test",
                "cluster": {"server": url, "certificate-authority-data": _b64(ca)},
            }
        ],
        "users": [{"name": "user", "user": user}],
        "contexts": [
            {"name": "ironlb-test", "context": {"cluster": "ironlb-test", "user": "user"}}
        ],
        "current-context": "ironlb-test",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Process:
    """One child process we started, stopped by its own pid only. Its own session: a Ctrl-C
    meant for pytest must not stop it before pytest's teardown has used it."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with open(log.with_name("pids"), "a") as pids:
            pids.write(f"{self.popen.pid}\n")

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def cleanup_stale(tmp: Path | None = None) -> list[str]:
    """Remove what a test run killed outright (SIGKILL, a CI timeout) left behind: its
    etcd and kube-apiserver (only pids it recorded whose command line still names its
    directory, so a reused pid is never touched) and its directory. Runs whose pytest is
    alive are left alone."""
    removed = []
    for workdir in Path(tmp or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = int((workdir / "owner").read_text())
        except (OSError, ValueError):
            continue  # not started by this code, or still being set up
        if Path(f"/proc/{owner}").exists():
            continue
        pids = (workdir / "pids").read_text().split() if (workdir / "pids").exists() else []
        for pid in map(int, pids):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if str(workdir).encode() in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(str(workdir))
    return removed


# ------------------------------------------------------------------------------------- server


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def base(self) -> str:
        return f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        out = self.base
        if namespace:
            out += f"/namespaces/{namespace}"
        out += f"/{self.plural}"
        return f"{out}/{name}" if name else out


NAMESPACES = ResourceType("", "v1", "namespaces", False)
SERVICEACCOUNTS = ResourceType("", "v1", "serviceaccounts", True)
CRDS = ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions", False)
# Cluster plumbing the apiserver keeps for itself (and may recreate at any moment).
KEEP_TYPES = {
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
    ("apiregistration.k8s.io", "apiservices"),
}
DELETE_OPTIONS = {
    "apiVersion": "v1",
    "kind": "DeleteOptions",
    "gracePeriodSeconds": 0,
    "propagationPolicy": "Background",
}
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


class KubeApiServer:
    """etcd + kube-apiserver as child processes of this one; see the module docstring."""

    def __init__(
        self,
        binaries: Binaries,
        workdir: Path | None = None,
        *,
        crds: bool = True,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.binaries = binaries
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "owner").write_text(f"{os.getpid()}\n")
        self.install_crds = crds
        self.extra_args = extra_args
        self.pki: Pki | None = None
        self.etcd: _Process | None = None
        self.apiserver: _Process | None = None
        self.etcd_port = 0
        self.port = 0
        self.kubeconfig = ""
        self.baseline: set[str] = set()  # uids of the objects present after start-up
        self.started_in = 0.0
        self._http: urllib3.PoolManager | None = None
        self._scoped = False
        self._crds: list[str] = []  # installed by start(), served again after a restart

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def ca_file(self) -> str:
        assert self.pki is not None
        return str(self.pki.ca_cert)

    def start(self) -> KubeApiServer:
        started = time.monotonic()
        try:
            self.pki = pki = make_pki(self.workdir / "pki")
            for attempt in range(3):  # a free port can be taken between probing and binding
                self.etcd_port, self.port = free_port(), free_port()
                try:
                    self._start_etcd()
                    self._start_apiserver()
                    break
                except ProcessExited:
                    self._stop_processes()
                    shutil.rmtree(self.workdir / "etcd", ignore_errors=True)
                    if attempt == 2:
                        raise
            admin = self.workdir / "admin.kubeconfig"
            self.kubeconfig = str(
                write_kubeconfig(admin, self.url, pki.ca_cert, self._admin_user())
            )
            if self.install_crds:
                self._install_crds()
            self.baseline = self._snapshot()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        return self

    def _start_etcd(self) -> None:
        data = self.workdir / "etcd"
        data.mkdir(exist_ok=True)
        peer = free_port()
        argv = [
            str(self.binaries.etcd),
            "--name=ironlb-test",
            f"--data-dir={data}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=ironlb-test=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync",  # a throw-away store: durability buys nothing here
            "--log-level=warn",
        ]
        self.etcd = _Process("etcd", argv, self.workdir / "etcd.log")
        self._wait(self.etcd, lambda: self._http_ok(f"{self.etcd_url}/health"), "etcd /health")

    def _apiserver_argv(self) -> list[str]:
        assert self.pki is not None
        pki = self.pki
        return [
            str(self.binaries.kube_apiserver),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",  # on top of the default set
            "--allow-privileged=true",
            f"--service-cluster-ip-range={','.join(SERVICE_CIDRS)}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_public}",
            f"--service-account-signing-key-file={pki.sa_private}",
            f"--cert-dir={pki.dir}",
            "--watch-cache-sizes=configmaps#0",  # see the module docstring
            "--profiling=false",
            "--v=1",
            *self.extra_args,
        ]

    def _start_apiserver(self) -> None:
        if self._http is not None:
            self._http.clear()  # pooled connections to a previous process are dead
        self.apiserver = _Process(
            "kube-apiserver", self._apiserver_argv(), self.workdir / "apiserver.log"
        )
        self._wait(
            self.apiserver, lambda: self._http_ok(f"{self.url}/readyz"), "kube-apiserver /readyz"
        )

    def _wait(self, proc: _Process, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not proc.alive:
                raise ProcessExited(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            if ready():
                return
            time.sleep(0.1)
        raise KubeApiError(f"{what} not ready after {START_TIMEOUT:.0f}s:\n{proc.tail()}")

    def stop(self) -> None:
        self._stop_processes()
        shutil.rmtree(self.workdir / "etcd", ignore_errors=True)
        if self._http is not None:
            self._http.clear()
            self._http = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_processes(self) -> None:
        for proc in (self.apiserver, self.etcd):
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.stop()
        self.apiserver = self.etcd = None

    def restart(self) -> None:
        """Restart kube-apiserver on the same port (same kubeconfig); etcd keeps the data."""
        self.stop_apiserver()
        self.start_apiserver()

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver only (etcd keeps running); :meth:`start_apiserver` resumes."""
        if self.apiserver is not None:
            self.apiserver.stop()

    def start_apiserver(self) -> None:
        """Start kube-apiserver again (after :meth:`stop_apiserver`); returns once it is
        ready and serves the CRDs' resources again."""
        self._start_apiserver()
        self.wait_crds_established(self._crds)

    # ----------------------------------------------------------------------- HTTP

    @property
    def http(self) -> urllib3.PoolManager:
        if self._http is None:
            assert self.pki is not None
            self._http = urllib3.PoolManager(
                ca_certs=str(self.pki.ca_cert),
                cert_reqs=ssl.CERT_REQUIRED,
                cert_file=str(self.pki.admin_cert),
                key_file=str(self.pki.admin_key),
                retries=False,
                timeout=urllib3.Timeout(connect=5, read=30),
            )
        return self._http

    def _http_ok(self, url: str) -> bool:
        try:
            return self.http.request("GET", url, timeout=2).status == 200
        except urllib3.exceptions.HTTPError:
            return False

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        accept: str = "application/json",
        content_type: str = "application/json",
        ok: tuple[int, ...] = (200, 201, 202),
    ) -> tuple[int, Any]:
        """An admin request; returns (status, decoded JSON). Statuses outside ``ok`` raise."""
        headers = {"Accept": accept}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        deadline = time.monotonic() + 60
        while True:
            resp = self.http.request(method, self.url + path, body=data, headers=headers)
            try:
                decoded = json.loads(resp.data) if resp.data else None
            except ValueError:
                decoded = resp.data.decode(errors="replace")
            # 429 while a resource's storage (re)initializes, e.g. CRDs after a restart
            if resp.status != 429 or 429 in ok or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if resp.status not in ok:
            raise KubeApiError(f"{method} {path}: {resp.status} {decoded}")
        return resp.status, decoded

    # ------------------------------------------------------------------ clients

    def api_client(self) -> Any:
        """An official-client ApiClient with the admin credentials (the caller closes it)."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(config_file=self.kubeconfig, client_configuration=configuration)
        return client.ApiClient(configuration)

    def kubeconfig_for_url(self, url: str, path: Path) -> Path:
        """The admin kubeconfig, pointed at `url` (a proxy, a port nothing listens on)."""
        assert self.pki is not None
        return write_kubeconfig(path, url, self.pki.ca_cert, self._admin_user())

    def _admin_user(self) -> dict[str, str]:
        assert self.pki is not None
        return {
            "client-certificate-data": _b64(self.pki.admin_cert),
            "client-key-data": _b64(self.pki.admin_key),
        }

    def service_account_token(
        self, namespace: str, name: str, expiration_seconds: int = 24 * 3600
    ) -> str:
        """A TokenRequest token for ServiceAccount namespace/name (created if missing)."""
        self.ensure_namespace(namespace, default_sa=False)
        sa = _manifest("v1", "ServiceAccount", name, namespace)
        self.request("POST", SERVICEACCOUNTS.path(namespace), sa, ok=(201, 409))
        body = _manifest("authentication.k8s.io/v1", "TokenRequest", None)
        body["spec"] = {"expirationSeconds": expiration_seconds}
        _, answer = self.request("POST", SERVICEACCOUNTS.path(namespace, name) + "/token", body)
        return str(answer["status"]["token"])

    def service_account_kubeconfig(
        self, namespace: str, name: str, path: Path | str | None = None
    ) -> Path:
        """A kubeconfig authenticating as ServiceAccount namespace/name with a bound token."""
        assert self.pki is not None
        token = self.service_account_token(namespace, name)
        target = Path(path) if path else self.workdir / f"sa-{namespace}-{name}.kubeconfig"
        return write_kubeconfig(target, self.url, self.pki.ca_cert, {"token": token})

    def ensure_namespace(
        self, name: str, labels: dict[str, str] | None = None, *, default_sa: bool = True
    ) -> None:
        """Create namespace `name` if missing, with the "default" ServiceAccount that
        kube-controller-manager would add (Pods cannot be created without it)."""
        body = _manifest("v1", "Namespace", name)
        body["metadata"]["labels"] = labels or {}
        self.request("POST", NAMESPACES.path(), body, ok=(201, 409))
        if default_sa:
            sa = _manifest("v1", "ServiceAccount", "default", name)
            self.request("POST", SERVICEACCOUNTS.path(name), sa, ok=(201, 409))

    # ------------------------------------------------------------------- etcd

    def compact(self) -> int:
        """Compact etcd's history up to its current revision (what the apiserver does every
        few minutes on a real cluster); returns that revision. Watches from an older
        resourceVersion on a resource served from etcd (ConfigMaps here) then get 410."""
        http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=30))
        probe = {"key": base64.b64encode(b"/").decode()}  # any read answers with the revision
        resp = http.request("POST", f"{self.etcd_url}/v3/kv/range", body=json.dumps(probe))
        revision = int(json.loads(resp.data)["header"]["revision"])
        compaction = {"revision": str(revision), "physical": True}
        resp = http.request(
            "POST", f"{self.etcd_url}/v3/kv/compaction", body=json.dumps(compaction)
        )
        if resp.status != 200:
            raise KubeApiError(f"etcd compaction failed: {resp.status} {resp.data!r}")
        return revision

    # -------------------------------------------------------------------- CRDs

    def _install_crds(self) -> None:
        names = []
        for path in sorted(CRD_DIR.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    self.request("POST", CRDS.path(), doc, ok=(201, 409))
                    names.append(doc["metadata"]["name"])
        self.wait_crds_established(names)
        self._crds = names

    def wait_crds_established(self, names: list[str], timeout: float = 60.0) -> None:
        """Wait until every CRD in `names` is Established and its resources are served."""
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending:
            name = pending[0]
            _, crd = self.request("GET", CRDS.path(name=name))
            listed = (crd.get("status") or {}).get("conditions") or []
            conditions = {c["type"]: c["status"] for c in listed}
            served = False
            if conditions.get("Established") == "True":
                group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
                versions = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
                ok = (200, 404, 429)  # 429: its storage is still initializing
                served = all(
                    self.request("GET", f"/apis/{group}/{v}/{plural}", ok=ok)[0] == 200
                    for v in versions
                )
            if served:
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise KubeApiError(f"CRD {name} not Established after {timeout}s: {conditions}")
            time.sleep(0.1)

    # ------------------------------------------------------------------- reset

    def resource_types(self) -> list[ResourceType]:
        """Every listable and deletable resource the server has now (CRDs included)."""
        out: list[ResourceType] = []
        for root in ("/api", "/apis"):
            _, listing = self.request("GET", root, accept=DISCOVERY)
            for group in listing.get("items") or []:
                group_name = group["metadata"].get("name", "")
                seen: set[str] = set()
                # preferred version first; a resource only some versions serve is still found
                for version in group.get("versions") or []:
                    for res in version.get("resources") or []:
                        verbs = set(res.get("verbs") or [])
                        plural = res["resource"]
                        if plural in seen or not {"list", "delete"} <= verbs:
                            continue
                        seen.add(plural)
                        if (group_name, plural) in KEEP_TYPES:
                            continue
                        namespaced = res.get("scope") == "Namespaced"
                        out.append(ResourceType(group_name, version["version"], plural, namespaced))
        return out

    def _items(self, rt: ResourceType) -> list[Obj]:
        _, listing = self.request("GET", rt.path(), accept=METADATA_LIST, ok=(200, 404))
        if not isinstance(listing, dict):
            return []
        return listing.get("items") or []

    def _snapshot(self) -> set[str]:
        return {
            item["metadata"]["uid"]
            for rt in self.resource_types()
            for item in self._items(rt)
            if item.get("metadata", {}).get("uid")
        }

    def reset(self, timeout: float = 60.0) -> list[str]:
        """Delete every object created since start-up; return what was deleted (kind/ns/name).

        Namespaced objects go first, then namespaces (emptied, deleted, finalized: no
        kube-controller-manager runs), then cluster-scoped objects; CRDs are left to the
        apiserver's own finalizer so their custom objects go with them. Repeats until a pass
        finds nothing, so something created during the pass is caught too.
        """
        deleted: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            found = self._reset_pass()
            deleted.extend(found)
            if not found:
                return deleted
            if time.monotonic() > deadline:
                raise KubeApiError(f"reset still deleting after {timeout}s: {found[:10]}")

    def _reset_pass(self) -> list[str]:
        types = self.resource_types()
        doomed: list[tuple[ResourceType, Obj]] = []
        for rt in types:
            for item in self._items(rt):
                meta = item.get("metadata") or {}
                if meta.get("uid") and meta["uid"] not in self.baseline:
                    doomed.append((rt, meta))
        order = {True: 0, False: 2}

        def rank(entry: tuple[ResourceType, Obj]) -> int:
            rt = entry[0]
            if rt == NAMESPACES:
                return 1
            if rt == CRDS:
                return 3
            return order[rt.namespaced]

        done = []
        for rt, meta in sorted(doomed, key=rank):
            name, namespace = meta["name"], meta.get("namespace")
            path = rt.path(namespace, name)
            _, answer = self.request("DELETE", path, DELETE_OPTIONS, ok=(200, 202, 404, 409))
            done.append(f"{rt.plural}/{namespace + '/' if namespace else ''}{name}")
            if rt == NAMESPACES:
                self._finalize_namespace(name)
            elif rt == CRDS:
                self._wait_gone(path)
            elif isinstance(answer, dict) and (answer.get("metadata") or {}).get("finalizers"):
                self._drop_finalizers(path)  # held by finalizers no controller here will run
        return done

    def _drop_finalizers(self, path: str) -> None:
        patch = {"metadata": {"finalizers": None}}
        merge = "application/merge-patch+json"
        self.request("PATCH", path, patch, content_type=merge, ok=(200, 404, 409))

    def _finalize_namespace(self, name: str) -> None:
        status, ns = self.request("GET", NAMESPACES.path(name=name), ok=(200, 404))
        if status == 404:
            return
        ns.setdefault("spec", {})["finalizers"] = []
        self.request("PUT", NAMESPACES.path(name=name) + "/finalize", ns, ok=(200, 404, 409))
        if (ns.get("metadata") or {}).get("finalizers"):
            self._drop_finalizers(NAMESPACES.path(name=name))

    def _wait_gone(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.request("GET", path, ok=(200, 404))[0] == 200:
            if time.monotonic() > deadline:
                raise KubeApiError(f"{path} still there {timeout}s after its deletion")
            time.sleep(0.1)

    # ------------------------------------------------------------------- scope

    @contextlib.contextmanager
    def scope(self) -> Iterator[ApiserverScope]:
        """A use of the shared server: its clients are closed and the cluster is reset to
        the baseline when it ends. Scopes do not nest (a reset would pull objects from under
        the outer one)."""
        if self._scoped:
            raise KubeApiError(
                "the shared kube-apiserver is already in use by an enclosing scope "
                "(a module-scoped fixture); do not mix it with the function-scoped `apiserver`"
            )
        self._scoped = True
        view = ApiserverScope(self)
        try:
            yield view
        finally:
            view.close()
            try:
                if self.apiserver is None or not self.apiserver.alive:
                    self.start_apiserver()  # a test stopped it and failed before restarting
                self.reset()
            finally:
                self._scoped = False


class ApiserverScope:
    """What a test sees of the shared server."""

    def __init__(self, server: KubeApiServer) -> None:
        self.server = server
        self._clients: list[Any] = []

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def kubeconfig(self) -> str:
        return self.server.kubeconfig

    @property
    def ca_file(self) -> str:
        return self.server.ca_file

    def api_client(self) -> Any:
        api = self.server.api_client()
        self._clients.append(api)
        return api

    def service_account_kubeconfig(
        self, namespace: str, name: str, path: Path | str | None = None
    ) -> Path:
        return self.server.service_account_kubeconfig(namespace, name, path)

    def ensure_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        self.server.ensure_namespace(name, labels)

    def kubeconfig_for_url(self, url: str, path: Path) -> Path:
        return self.server.kubeconfig_for_url(url, path)

    def compact(self) -> int:
        return self.server.compact()

    def stop_apiserver(self) -> None:
        """Stop the shared kube-apiserver process (etcd keeps the data) until
        :meth:`start_apiserver`; the scope's end starts it again if the test did not."""
        self.server.stop_apiserver()

    def start_apiserver(self) -> None:
        self.server.start_apiserver()

    def close(self) -> None:
        for api in self._clients:
            with contextlib.suppress(Exception):
                api.close()
        self._clients.clear()


# ------------------------------------------------------------------------------------ kubectl


class Kubectl:
    """Runs the real kubectl against a server. With `namespace`, kubectl runs with its own
    copy of the kubeconfig whose context names that namespace: it is the default, and
    unlike ``--namespace`` it does not refuse manifests naming another one."""

    def __init__(self, kubeconfig: str, workdir: Path, namespace: str | None = None) -> None:
        binary = shutil.which("kubectl")
        if binary is None:
            pytest.skip("kubectl binary not found on PATH")
        self.binary = binary
        self.namespace = namespace
        # a private discovery cache: the shared one would collect a directory per port
        self.cache_dir = workdir / "kubectl-cache"
        self.kubeconfig = kubeconfig
        if namespace:
            config = yaml.safe_load(Path(kubeconfig).read_text())
            for context in config["contexts"]:
                context["context"]["namespace"] = namespace
            own = workdir / "kubectl.kubeconfig"
            own.write_text(yaml.safe_dump(config, sort_keys=False))
            own.chmod(0o600)
            self.kubeconfig = str(own)

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [self.binary, "--kubeconfig", self.kubeconfig, "--cache-dir", str(self.cache_dir)]
        proc = subprocess.run(
            [*argv, *args], input=input, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
            )
        return proc


# ----------------------------------------------------------------------------------- fixtures


def unique_name(hint: str, limit: int = 63) -> str:
    """A DNS-1123 label from `hint` (a test name) plus a random suffix."""
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-") or "t"
    suffix = secrets.token_hex(3)
    return f"{slug[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[KubeApiServer]:
    binaries = require_binaries()
    cleanup_stale()
    server = KubeApiServer(binaries).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def apiserver(kube_apiserver: KubeApiServer) -> Iterator[ApiserverScope]:
    with kube_apiserver.scope() as view:
        yield view


@pytest.fixture
def kube_namespace(apiserver: ApiserverScope, request: pytest.FixtureRequest) -> str:
    name = unique_name(request.node.name.removeprefix("test_"))
    apiserver.ensure_namespace(name)
    return name  # deleted with everything else when `apiserver` resets


@pytest.fixture
def kubectl(apiserver: ApiserverScope, kube_namespace: str, tmp_path: Path) -> Kubectl:
    return Kubectl(apiserver.kubeconfig, tmp_path, kube_namespace)


@pytest.fixture
def fresh_kube_apiserver(tmp_path: Path) -> Iterator[Callable[..., KubeApiServer]]:
    """``fresh_kube_apiserver(crds=True) -> KubeApiServer``: a server of the test's own."""
    made: list[KubeApiServer] = []

    def start(crds: bool = True, extra_args: tuple[str, ...] = ()) -> KubeApiServer:
        workdir = tmp_path / f"kubeapi-{len(made)}"
        server = KubeApiServer(require_binaries(), workdir, crds=crds, extra_args=extra_args)
        made.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in made:
            server.stop()


# ---------------------------------------------------------------------------- command line


class _Stopped(BaseException):
    """SIGTERM/SIGINT/SIGHUP in :func:`serve`: unwinds whatever it interrupts, cleanup runs."""


def serve(
    kubeconfig: Path,
    *,
    crds: bool = True,
    extra_args: tuple[str, ...] = (),
    announce: Callable[[str], None] = print,
) -> int:
    """Run one server until a signal: write its admin kubeconfig to `kubeconfig` (atomically,
    once the server is ready and the CRDs are served), announce a JSON line (url, kubeconfig,
    pid, workdir, started_s), wait. On SIGTERM/SIGINT/SIGHUP, or when etcd or kube-apiserver
    dies, stop both, remove the work directory and the kubeconfig. Returns the exit status."""

    def stop_now(signum: int, _frame: Any) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # one stop is enough: let the cleanup finish
        raise _Stopped(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop_now)
    server: KubeApiServer | None = None
    written = False
    status = 0
    try:
        found = resolve_binaries()
        if isinstance(found, str):
            announce(json.dumps({"error": f"real kube-apiserver unavailable: {found}"}))
            return 2
        cleanup_stale()
        server = KubeApiServer(found, crds=crds, extra_args=extra_args)
        server.start()
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        partial = kubeconfig.with_name(f".{kubeconfig.name}.{os.getpid()}")
        shutil.copyfile(server.kubeconfig, partial)
        partial.chmod(0o600)
        partial.replace(kubeconfig)  # a reader waiting for the file sees a ready server
        written = True
        announce(
            json.dumps(
                {
                    "url": server.url,
                    "kubeconfig": str(kubeconfig),
                    "pid": os.getpid(),
                    "workdir": str(server.workdir),
                    "started_s": round(server.started_in, 2),
                }
            )
        )
        while True:
            time.sleep(1.0)
            dead = [p for p in (server.etcd, server.apiserver) if p is not None and not p.alive]
            if dead:
                announce(json.dumps({"error": f"{dead[0].name} exited", "log": dead[0].tail()}))
                status = 1
                break
    except _Stopped:
        pass
    except KubeApiError as exc:
        announce(json.dumps({"error": str(exc)}))
        status = 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if server is not None:
            server.stop()
        if written:
            kubeconfig.unlink(missing_ok=True)
    return status


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.plugins.kubeapi",
        description="The tests' real etcd + kube-apiserver, for use outside pytest "
        "(molecule, benches). Run from the repository root.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser(
        "serve",
        help="start one, write its admin kubeconfig, run until SIGTERM/SIGINT, clean up",
        description=serve.__doc__,
    )
    cmd.add_argument("--kubeconfig", type=Path, required=True, help="where to write it")
    cmd.add_argument("--no-crds", action="store_true", help="do not install the metallb.io CRDs")
    cmd.add_argument(
        "--apiserver-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra kube-apiserver flag (repeatable), e.g. --apiserver-arg=--v=2",
    )
    args = parser.parse_args(argv)
    return serve(
        args.kubeconfig.absolute(),
        crds=not args.no_crds,
        extra_args=tuple(args.apiserver_arg),
        announce=lambda line: print(line, flush=True),
    )


if __name__ == "__main__":
    raise SystemExit(main())
