"""Measuring instruments: Redis command and CPU counters, the stamp files handlers write,
worker processes with their peak memory, and order statistics."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.peers.common import LINE_BYTES

#: Commands the harness itself sends between snapshots; never charged to a system.
HARNESS_COMMANDS = ("info", "config|resetstat", "flushall")
#: How often the worker's process tree is sampled for resident memory, in seconds.
RSS_SAMPLE_S = 0.2


def cmdstats(r: redis.Redis) -> dict[str, int]:
    info: dict[str, Any] = r.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def cmd_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def cmd_total(delta: dict[str, int]) -> int:
    """All commands, those run inside scripts included, less the harness's own."""
    return sum(v for k, v in delta.items() if k not in HARNESS_COMMANDS)


def redis_cpu_s(r: redis.Redis) -> float:
    cpu: dict[str, Any] = r.info("cpu")
    return float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])


@dataclass(frozen=True)
class Counters:
    """Redis's command counts and its own CPU time (user + sys, seconds) at one instant."""

    calls: dict[str, int]
    cpu_s: float

    @classmethod
    def read(cls, r: redis.Redis) -> Counters:
        return cls(cmdstats(r), redis_cpu_s(r))

    def per_job(self, later: Counters, jobs: int) -> dict[str, float]:
        """Commands and Redis CPU microseconds per job between this snapshot and ``later``."""
        return {
            "cmds_per_job": round(cmd_total(cmd_delta(self.calls, later.calls)) / jobs, 2),
            "cpu_us_per_job": round(1e6 * (later.cpu_s - self.cpu_s) / jobs, 1),
        }


def idle_cpu_us_per_s(r: redis.Redis, seconds: float = 2.0) -> float:
    """Redis's own CPU per second with no client but this one (its cron): the floor every
    system's figures include in proportion to its run's length."""
    before = redis_cpu_s(r)
    time.sleep(seconds)
    return round(1e6 * (redis_cpu_s(r) - before) / seconds, 1)


def stamps_done(path: Path) -> int:
    try:
        return path.stat().st_size // LINE_BYTES
    except FileNotFoundError:
        return 0


def read_stamps(path: Path) -> list[tuple[float, float, float]]:
    """(enqueued, started, ended) per job, in epoch seconds."""
    out = []
    for line in path.read_text().splitlines():
        t, start, end = line.split()
        out.append((float(t), float(start), float(end)))
    return out


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (statistics.quantiles' 'inclusive' method)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[round(pct * 10) - 1]


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            kids += [int(k) for k in text.split()]
    except OSError:
        pass
    return kids


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class WorkerProcess:
    """A worker started in its own session; its tree's resident memory sampled meanwhile."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    peak_main_kb: int = 0
    peak_tree_kb: int = 0
    processes: int = 1
    _stop: threading.Event = field(default_factory=threading.Event)
    _sampler: threading.Thread | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        assert self.proc is not None
        while not self._stop.wait(RSS_SAMPLE_S):
            pids, todo = [], [self.proc.pid]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += _children(pid)
            self.processes = max(self.processes, len(pids))
            tree = sum(_status_kb(p, "VmRSS") for p in pids)
            self.peak_tree_kb = max(self.peak_tree_kb, tree)
            self.peak_main_kb = max(self.peak_main_kb, _status_kb(self.proc.pid, "VmHWM"))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def stop(self) -> None:
        """Reads the main process's peak (VmHWM), then kills the whole session."""
        if self.proc is None:
            return
        if self.alive():
            self.peak_main_kb = max(self.peak_main_kb, _status_kb(self.proc.pid, "VmHWM"))
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        self.peak_tree_kb = max(self.peak_tree_kb, self.peak_main_kb)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def rss_mb(self) -> dict[str, float]:
        return {
            "main_mb": round(self.peak_main_kb / 1024, 1),
            "tree_mb": round(self.peak_tree_kb / 1024, 1),
            "processes": self.processes,
        }


class WorkerDiedError(RuntimeError):
    """The worker process exited before the jobs it was waiting for were done."""


def wait_stamps(path: Path, n: int, worker: WorkerProcess, timeout_s: float) -> bool:
    """Waits for ``n`` stamp lines; False on timeout, WorkerDiedError if the worker exits."""
    deadline = time.monotonic() + timeout_s
    while stamps_done(path) < n:
        if not worker.alive():
            raise WorkerDiedError(f"worker exited: {worker.log_tail()}")
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
