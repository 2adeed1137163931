"""One replica of a Deployment: its process group, restarts, readiness and termination."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

from devcluster.meta import now
from devcluster.podspec import Launch

JSON = dict[str, Any]

#: The annotation a ReplicaSet orders scale-down by (lower cost goes first).
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"

#: Every process group started by any kubelet in this interpreter, for the exit safety net.
_LIVE_GROUPS: set[int] = set()


@atexit.register
def _kill_leftovers() -> None:
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Replica:
    """A process slot: (re)started with back-off, probed, and stopped SIGTERM-then-SIGKILL."""

    def __init__(
        self,
        index: int,
        pod_name: str,
        template_hash: str,
        log_path: Path,
        backoff: tuple[float, float],
    ) -> None:
        self.index = index
        self.pod_name = pod_name
        self.template_hash = template_hash
        self.log_path = log_path
        self.backoff = backoff
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.next_start = 0.0
        self.started_at: str | None = None
        self.started_mono = 0.0
        self._ready = False
        self.waiting_reason: str | None = "ContainerCreating"
        self.waiting_message = ""
        self.last_exit: JSON | None = None
        self.terminating = False
        self.launch: Launch | None = None
        #: terminationGracePeriodSeconds of the template this replica runs.
        self.grace = 30.0
        #: Wall-clock times of the Pod's creation and of its last turn to ready (ranking).
        self.created = time.time()
        self.ready_since: float | None = None
        #: Readiness probe failures in a row.
        self.probe_failures = 0

    @property
    def ready(self) -> bool:
        return self._ready

    @ready.setter
    def ready(self, value: bool) -> None:
        self._ready = value
        if not value:
            self.ready_since = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self, launch: Launch) -> None:
        self.launch = launch
        self.ready = False
        env = {**os.environ, **launch.env}
        cwd = (
            launch.working_dir if launch.working_dir and os.path.isdir(launch.working_dir) else None
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                self.process = subprocess.Popen(
                    launch.argv,
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                log.write(f"devcluster: cannot start {launch.argv!r}: {exc}\n".encode())
                self._crashed(reason="StartError", exit_code=128)
                return
        _LIVE_GROUPS.add(self.process.pid)
        self.started_at = now()
        self.started_mono = time.monotonic()
        self.waiting_reason = None

    def check_exit(self) -> bool:
        """True when the process has just exited (and a restart has been scheduled)."""
        if self.process is None or self.terminating:
            return False
        code = self.process.poll()
        if code is None:
            return False
        _LIVE_GROUPS.discard(self.process.pid)
        _kill_group(self.process.pid, signal.SIGKILL)  # children it left behind
        self.process = None
        self._crashed(reason="Completed" if code == 0 else "Error", exit_code=code)
        return True

    def _crashed(self, reason: str, exit_code: int) -> None:
        self.ready = False
        # A replica that ran for a while starts its back-off afresh, as kubelet does.
        if self.started_mono and time.monotonic() - self.started_mono > 60:
            self.restarts = 0
        self.restarts += 1
        base, cap = self.backoff
        self.next_start = time.monotonic() + min(base * 2 ** (self.restarts - 1), cap)
        self.last_exit = {
            "terminated": {
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": self.started_at,
                "finishedAt": now(),
            }
        }
        self.waiting_reason = "CrashLoopBackOff"
        self.waiting_message = f"back-off restarting failed container (exit code {exit_code})"

    async def probe(self, container: JSON) -> None:
        """Update `ready` from the readiness probe (httpGet or tcpSocket), else liveness."""
        probe = container.get("readinessProbe") or {}
        if not self.alive or self.launch is None:
            self.ready = False
            return
        if time.monotonic() - self.started_mono < probe.get("initialDelaySeconds", 0):
            return
        timeout = float(probe.get("timeoutSeconds", 1))
        if "httpGet" in probe:
            ready = await self._http_ok(probe["httpGet"], timeout)
        elif "tcpSocket" in probe:
            ready = await self._tcp_ok(self._port(probe["tcpSocket"].get("port")), timeout)
        else:
            ready = True
        if ready:
            self.probe_failures = 0
            if not self.ready:
                self.ready_since = time.time()
            self.ready = True
            return
        # As the kubelet does, a ready pod turns unready after failureThreshold failures in a
        # row (one slow answer on a loaded machine must not make it the first to go).
        self.probe_failures += 1
        if self.probe_failures >= int(probe.get("failureThreshold", 3)):
            self.ready = False

    def _port(self, port: Any) -> int:
        assert self.launch is not None
        declared = self.launch.port_names.get(port, port) if isinstance(port, str) else port
        try:
            declared = int(declared)
        except (TypeError, ValueError):
            return 0
        return self.launch.ports.get(declared, declared)

    async def _http_ok(self, get: JSON, timeout: float) -> bool:
        scheme = get.get("scheme", "HTTP").lower()
        url = f"{scheme}://127.0.0.1:{self._port(get.get('port'))}{get.get('path', '/')}"
        headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
        try:
            client_timeout = aiohttp.ClientTimeout(total=timeout)
            async with (
                aiohttp.ClientSession(timeout=client_timeout) as session,
                session.get(url, headers=headers, ssl=False) as response,
            ):
                return 200 <= response.status < 400
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    @staticmethod
    async def _tcp_ok(port: int, timeout: float) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True

    async def terminate(self, grace: float) -> None:
        """SIGTERM the process group, wait up to `grace` seconds, then SIGKILL it."""
        self.terminating = True
        self.ready = False
        process = self.process
        if process is None:
            return
        _kill_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        _kill_group(process.pid, signal.SIGKILL)
        while process.poll() is None:
            await asyncio.sleep(0.01)
        _LIVE_GROUPS.discard(process.pid)
        self.process = None


def deletion_cost(pod: JSON | None) -> int:
    """The Pod's ``controller.kubernetes.io/pod-deletion-cost`` (0 when absent or invalid)."""
    raw = ((pod or {}).get("metadata") or {}).get("annotations", {}).get(DELETION_COST, "0")
    try:
        cost = int(raw)
    except (TypeError, ValueError):
        return 0
    return cost if -(2**31) <= cost < 2**31 else 0


def _log_rank(since: float | None, now: float) -> float:
    """kube-controller-manager's LogarithmicScaleDown bucket: floor(log2(age in ns))."""
    if since is None:
        return -math.inf
    age_ns = (now - since) * 1e9
    return float(math.floor(math.log2(age_ns))) if age_ns > 0 else -1.0


def to_delete(replicas: list[Replica], pods: dict[str, JSON], count: int) -> list[Replica]:
    """The ``count`` replicas a ReplicaSet would remove first (ActivePodsWithRanks order).

    Pending before running, not ready before ready, lower pod-deletion-cost first, ready for
    less time first, more restarts first, newer first (times in log2 buckets, ties by name as
    upstream breaks them by UID). Unassigned pods and the same-node rank do not apply: every
    local pod is on the one node.
    """
    if count <= 0:
        return []
    now = time.time()

    def rank(r: Replica) -> tuple[int, int, int, float, int, float, str]:
        return (
            1 if r.alive else 0,
            1 if r.ready else 0,
            deletion_cost(pods.get(r.pod_name)),
            _log_rank(r.ready_since, now) if r.ready else 0.0,
            -r.restarts,
            _log_rank(r.created, now),
            r.pod_name,
        )

    return sorted(replicas, key=rank)[:count]
