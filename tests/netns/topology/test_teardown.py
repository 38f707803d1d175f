"""Teardown leaves nothing: after a failing test, on SIGINT/SIGTERM, and after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pyroute2 import netns

from ironlb.netns import Topology, TopologyError, cleanup_stale, wait_until
from ironlb.netns.process import netns_argv, netns_inode, pids_in_netns
from tests.netns.topology.helpers import leftovers

pytestmark = pytest.mark.netns
ROOT = Path(__file__).resolve().parents[3]

FAILING_TEST = """
import subprocess
import sys
from pathlib import Path


def test_fails(netns_topology):
    topo = netns_topology({"lan": ("a", "b")}, prefix="ilb-nt-fail")
    topo.add_address("a", "lan", "198.51.100.1/24")
    proc = topo.start("a", ["sleep", "300"])
    # A daemon that forks away from the pid we know: teardown must sweep it too.
    code = "import os, time\\nif os.fork() == 0:\\n print(os.getpid(), flush=True)\\n"
    code += " time.sleep(300)"
    forker = topo.start("b", [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    forked = forker.popen.stdout.readline().strip()
    Path({pidfile!r}).write_text(f"{proc.pid} {forked}")
    assert False, "deliberate failure"
"""

SIGNAL_SCRIPT = """
import sys, time
from ironlb.netns import Topology
topo = Topology.from_dict({"lan": ("a", "b")}, prefix={prefix!r})
proc = topo.start("a", ["sleep", "300"])
print(proc.pid, flush=True)
for _ in range(600):
    time.sleep(0.1)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_failing_test_in_subprocess_leaves_nothing(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    (tmp_path / "test_inner.py").write_text(FAILING_TEST.replace("{pidfile!r}", repr(str(pidfile))))
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-p", "tests.plugins.netns", str(tmp_path / "test_inner.py")),
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "deliberate failure" in done.stdout
    pids = [int(pid) for pid in pidfile.read_text().split()]
    assert len(pids) == 2
    assert leftovers("ilb-nt-fail", pids) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_nothing(sig: signal.Signals) -> None:
    prefix = f"ilb-nt-sig{int(sig)}"
    child = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_SCRIPT.replace("{prefix!r}", repr(prefix))],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        pid = int(child.stdout.readline())
        assert leftovers(prefix, [pid])  # it is all there while the script runs
        child.send_signal(sig)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode != 0
    assert leftovers(prefix, [pid]) == []


def test_a_live_run_in_another_process_is_never_cleaned_a_crashed_one_is() -> None:
    prefix = "ilb-nt-own"
    child = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_SCRIPT.replace("{prefix!r}", repr(prefix))],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        pid = int(child.stdout.readline())
        assert cleanup_stale(prefix) == []  # alive: untouched
        assert cleanup_stale("ilb-nt") == []  # nor through a shorter prefix
        with pytest.raises(TopologyError, match="belongs to a live run"):
            Topology.from_dict({"lan": ("a",)}, prefix=prefix)
        child.kill()  # a crash: no teardown runs
        child.wait(10)
        assert leftovers(prefix, [pid])  # namespaces and the daemon outlive it...
        assert sorted(cleanup_stale(prefix)) == [f"{prefix}-{h}" for h in ("a", "b", "hub")]
        assert leftovers(prefix, [pid]) == []  # ...until cleaned up
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        cleanup_stale(prefix)


def test_cleanup_stale_removes_a_crashed_runs_namespaces() -> None:
    prefix = "ilb-nt-stale"
    netns.create(f"{prefix}-x")
    orphan = subprocess.Popen(netns_argv(f"{prefix}-x", ["sleep", "300"]))
    try:
        inode = netns_inode(f"{prefix}-x")
        assert inode is not None

        def entered() -> str | None:
            return None if orphan.pid in pids_in_netns({inode}) else "not in the namespace yet"

        wait_until(entered, timeout=10)
        assert cleanup_stale(prefix) == [f"{prefix}-x"]
        assert orphan.wait(10) == -signal.SIGTERM
        assert leftovers(prefix, [orphan.pid]) == []
    finally:
        if orphan.poll() is None:
            orphan.kill()
        cleanup_stale(prefix)
