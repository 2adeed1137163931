"""`make run`'s entry point: comes up, completes jobs, and leaves no process behind."""

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
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import redis

from e2e.conftest import MARKER, marked_processes

ROOT = Path(__file__).resolve().parents[1]


def _start(tmp: Path, run_id: str, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "devstack", "--plain", "--state-dir", str(tmp / "s"), *extra]
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**os.environ, MARKER: run_id},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _nothing_left(run_id: str, output: str) -> None:
    port = re.search(r"^export REDIS_URL=redis://127\.0\.0\.1:(\d+)/0$", output, re.M)
    assert port, output
    pgrep = subprocess.run(
        ["pgrep", "-f", f"redis-server 127.0.0.1:{port[1]}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pgrep.stdout == "", f"redis-server left behind: {pgrep.stdout}"
    left = marked_processes(run_id)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left behind: {left}"


def test_duration_run_comes_up_completes_jobs_and_leaves_nothing(tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    proc = _start(tmp_path, run_id, "--duration", "6")
    try:
        out, _ = proc.communicate(timeout=150)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    for line in (
        "export KUBECONFIG=",
        "export REDIS_URL=",
        "# operator metrics: http://",
        "# dashboard: http://",
        "/metrics",
        "# first job completed",
        "# stopped everything",
    ):
        assert line in out, out
    assert re.search(r"│ lucidia +│", out), out
    assert "blackroad/agents" in out, out
    _nothing_left(run_id, out)


def _until_first_job(proc: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while not any("first job completed" in line for line in lines):
        assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
        lines.append(proc.stdout.readline())
    return lines


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    proc = _start(tmp_path, run_id)
    lines: list[str] = []
    try:
        lines = _until_first_job(proc)
        workers = [line for line in lines if line.startswith("# worker ")]
        assert workers, "".join(lines)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends (SIGTERM takes the same path)
        out, _ = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(lines) + out
    _nothing_left(run_id, "".join(lines))


def test_a_sigkilled_stack_still_leaves_nothing(tmp_path: Path) -> None:
    """Its children die with it (PDEATHSIG); the devcluster then stops the workers."""
    run_id = uuid.uuid4().hex
    proc = _start(tmp_path, run_id)
    try:
        lines = _until_first_job(proc)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 30
    while marked_processes(run_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    _nothing_left(run_id, "".join(lines))


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return str(reply.read().decode())


def test_with_a_password_it_is_found_in_no_log_resource_metric_or_command_line(
    tmp_path: Path,
) -> None:
    run_id = uuid.uuid4().hex
    proc = _start(tmp_path, run_id, "--redis-password")
    state = tmp_path / "s"
    try:
        lines = _until_first_job(proc)
        out = "".join(lines)
        url_file = re.search(r"^export REDIS_URL_FILE=(.+)$", out, re.M)
        assert url_file, out
        url = Path(url_file[1]).read_text().strip()
        password = unquote(urlsplit(url).password or "")
        assert len(password) >= 16, "no password in the URL file"
        assert Path(url_file[1]).stat().st_mode & 0o077 == 0, "the URL file is readable by others"
        assert password not in out, "printed to the terminal"
        # The system really needs it.
        port = urlsplit(url).port
        assert port
        refused = redis.Redis(port=port)
        with pytest.raises(redis.AuthenticationError):
            refused.ping()
        refused.close()

        kubeconfig = state / "devcluster" / "kubeconfig"
        kubectl = ["kubectl", "--kubeconfig", str(kubeconfig)]
        places: dict[str, str] = {}
        for what in ("jq,wp,jsched", "deployments,pods", "events"):
            got = subprocess.run(
                [*kubectl, "get", what, "-A", "-o", "yaml"], capture_output=True, text=True
            )
            assert got.returncode == 0, got.stderr
            places[f"kubectl get {what}"] = got.stdout
        kopf_diffbase = "queues.blackroad.io/last-handled-configuration"
        assert kopf_diffbase in places["kubectl get jq,wp,jsched"], "nothing checked there"
        secret = subprocess.run(
            [*kubectl, "get", "secret", "blackroad-redis", "-n", "blackroad", "-o", "yaml"],
            capture_output=True,
            text=True,
        )
        assert "last-applied-configuration" not in secret.stdout, "the Secret's annotation"
        for metrics in re.findall(r"(http://127\.0\.0\.1:\d+/metrics)", out):
            places[metrics] = _get(metrics)
        for log in state.rglob("*.log"):
            places[str(log)] = log.read_text(errors="replace")
        pids = marked_processes(run_id)
        assert len(pids) >= 4, "expected Redis, the devcluster, the operator and workers"
        for pid in pids:
            with contextlib.suppress(OSError):
                places[f"command line of {pid}"] = Path(f"/proc/{pid}/cmdline").read_text()
        assert any("queue_operator" in v for k, v in places.items() if k.startswith("command"))
        assert any("worker" in v for k, v in places.items() if k.startswith("command"))
        leaks = [where for where, text in places.items() if password in text]
        assert leaks == [], f"the password appears in {leaks}"
        print(f"\npassword checked absent from {len(places)} places")
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
        assert password not in rest
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    for log in state.rglob("*.log"):
        assert password not in log.read_text(errors="replace"), f"{log} after the stop"
    left = marked_processes(run_id)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left behind: {left}"
