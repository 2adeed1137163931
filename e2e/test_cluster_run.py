"""The whole local system on a three-master Redis Cluster: `make run --redis-cluster` with the
CLI and the dashboard against its URL, and the operator's scenarios (queues configured on
the right master, status depths, scaling on backlog, schedules, dead letters)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import redis

from devstack import procs
from devstack.rediscluster import key_slot
from devstack.stack import Stack, StackConfig
from e2e import scenarios
from e2e.conftest import MARKER, LocalSystem, marked_processes
from e2e.scenarios import log, wait_for
from worker_runtime.client import SyncClient
from worker_runtime.models import JobSpec

ROOT = Path(__file__).resolve().parents[1]
#: The example queues; their hash tags land on three different masters (slots 12505, 749,
#: 5718 of 0-16383), which the tests check rather than assume.
EXAMPLES = ("lucidia", "alice", "default")


def _cli(url: str, *args: str) -> str:
    argv = [sys.executable, "-m", "worker_runtime", "--redis-url", url, *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode())


def test_make_run_on_a_cluster_serves_the_cli_and_the_dashboard(tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    argv = [sys.executable, "-m", "devstack", "--plain", "--redis-cluster"]
    proc = subprocess.Popen(
        [*argv, "--state-dir", str(tmp_path / "s")],
        cwd=ROOT,
        env={**os.environ, MARKER: run_id},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 150
        while not any("first job completed" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            lines.append(proc.stdout.readline())
        out = "".join(lines)
        url = re.search(r"^export REDIS_URL=(redis\+cluster://\S+)$", out, re.M)
        assert url, out
        ports = _node_ports(url[1])
        assert len(ports) == 3 and all(_redis_servers(p) for p in ports), url[1]
        listed = _cli(url[1], "queue", "list", "-o", "json")
        assert all(f'"{q}"' in listed for q in EXAMPLES), listed
        # The demo's poison jobs die at once (PermanentFailure) on the default queue too.
        wait_for(
            lambda: "agent_task:invalid" in _cli(url[1], "dlq", "list", "-o", "json"),
            what="a dead job",
        )
        dashboard = re.search(r"^# dashboard: (http://\S+) ", out, re.M)
        assert dashboard, out
        page = _get(dashboard[1])
        assert all(f"/queues/{q}" in page for q in EXAMPLES), page
        # The worker registry and the schedules live in slots of their own.
        workers = _get(dashboard[1] + "workers")
        assert re.search(r"<td>agents-[\w-]+</td>", workers), workers  # a pod's worker
        assert "blackroad/demo-every-10s" in _get(dashboard[1] + "schedules")
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 0, out + rest
    assert "# stopped everything" in rest, rest
    _nothing_left(run_id, ports)


def test_make_run_on_a_cluster_with_a_password_shows_it_nowhere(tmp_path: Path) -> None:
    """Each node reads it from a 0600 config file, redis-cli from its environment."""
    run_id = uuid.uuid4().hex
    argv = [sys.executable, "-m", "devstack", "--plain", "--redis-cluster", "--redis-password"]
    proc = subprocess.Popen(
        [*argv, "--state-dir", str(tmp_path / "s")],
        cwd=ROOT,
        env={**os.environ, MARKER: run_id},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out = rest = ""
    try:
        out = _until_first_job(proc)
        url_file = re.search(r"^export REDIS_URL_FILE=(.+)$", out, re.M)
        assert url_file, out
        url = Path(url_file[1]).read_text().strip()
        assert url.startswith("redis+cluster://:"), "no password in the URL file"
        password = unquote(url.split("://:", 1)[1].split("@", 1)[0])
        assert len(password) >= 16
        port = int(url.rsplit(":", 1)[1])
        with redis.Redis(port=port) as refused, pytest.raises(redis.AuthenticationError):
            refused.ping()
        assert '"lucidia"' in _cli(url, "queue", "list", "-o", "json")
        places = {"terminal": out}
        nodes = [pid for p in _node_ports(url) for pid in _redis_servers(p)]
        assert len(nodes) == 3, "expected the three nodes"
        for pid in [*marked_processes(run_id), *nodes]:
            with contextlib.suppress(OSError):
                places[f"command line of {pid}"] = Path(f"/proc/{pid}/cmdline").read_text()
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
        places["terminal after Ctrl-C"] = rest
        for log in (tmp_path / "s").rglob("*.log"):
            places[str(log)] = log.read_text(errors="replace")
        leaks = [where for where, text in places.items() if password in text]
        assert leaks == [], f"the password appears in {leaks}"
    finally:
        proc.kill()
    assert proc.returncode == 0, out + rest
    _nothing_left(run_id, _node_ports(url))


def _node_ports(url: str) -> list[int]:
    return [int(node.rsplit(":", 1)[1]) for node in url.split("@")[-1].split(",")]


def _redis_servers(port: int) -> list[int]:
    """Pids of redis-server on ``port``: Redis rewrites its title over its environment,
    so the marker does not find it."""
    pgrep = ["pgrep", "-f", f"redis-server 127.0.0.1:{port}"]
    found = subprocess.run(pgrep, capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in found.split()]


def _nothing_left(run_id: str, ports: list[int]) -> None:
    nodes = [pid for port in ports for pid in _redis_servers(port)]
    left = marked_processes(run_id) + nodes
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left behind (Redis nodes: {nodes}): {left}"


def _until_first_job(proc: subprocess.Popen[str]) -> str:
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 150
    while not any("first job completed" in line for line in lines):
        assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
        lines.append(proc.stdout.readline())
    return "".join(lines)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    run_id = uuid.uuid4().hex
    config = StackConfig(
        state_dir=tmp_path_factory.mktemp("devstack-cluster"),
        operator_tick=0.2,
        status_interval=0.5,
        env={MARKER: run_id},
        redis_cluster=3,
    )
    s = Stack(config)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        ports = s.redis_cluster.ports if s.redis_cluster is not None else []
        nodes = [pid for port in ports for pid in _redis_servers(port)]
        left = marked_processes(run_id) + nodes
        for pid in left:
            procs.kill_group(pid)
        assert left == [], f"processes left behind by the cluster stack: {left}"


@pytest.fixture(scope="module")
def system(stack: Stack) -> Iterator[LocalSystem]:
    s = LocalSystem(stack)
    yield s
    s.kube.close()


@pytest.fixture
def namespace(system: LocalSystem) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    system.kubectl("create", "namespace", name)
    system.stack.apply_redis_secret(name)
    yield name
    system.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_examples_run_with_each_queue_configured_on_its_master(system: LocalSystem) -> None:
    scenarios.examples_run(system)
    cluster = system.stack.redis_cluster
    assert cluster is not None
    masters = {q: cluster.master_of_slot(key_slot(q)) for q in EXAMPLES}
    assert len({m.port for m in masters.values()}) == 3, "the examples share a master"
    for q, master in masters.items():
        # A plain connection to that one node: the key is there, not merely reachable.
        with redis.Redis(port=master.port, decode_responses=True) as node:
            assert node.exists(f"brq:{{{q}}}:config") == 1, q
    with SyncClient(system.redis_url) as client:
        client.enqueue_many([JobSpec(q, "agent_task:invalid") for q in EXAMPLES])
        wait_for(
            lambda: all(client.stats(q).dead >= 1 for q in EXAMPLES), what="a dead job per queue"
        )

    def depths_shown() -> bool:
        for q in EXAMPLES:
            status = (system.kube.resource("blackroad", "jobqueues", q) or {}).get("status") or {}
            if not status.get("completed") or not status.get("dead"):
                return False
        return True

    wait_for(depths_shown, what="the operator's status of each queue to show its depths")


def test_burst_scales_up_on_a_cluster(system: LocalSystem, namespace: str) -> None:
    scenarios.burst_scales_up_drains_and_returns(system, namespace, jobs=1000)


def test_schedule_fires_on_a_cluster(system: LocalSystem, namespace: str) -> None:
    scenarios.schedule_fires_on_time(system, namespace)


def test_dead_letter_then_dlq_retry_on_a_cluster(system: LocalSystem, namespace: str) -> None:
    scenarios.dead_letter_then_cli_retry(system, namespace)
    log("dead letter and `blackroad dlq retry` on the cluster: done")
