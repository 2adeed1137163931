"""One round of the side-by-side measurements for one system: enqueue (single and bulk),
drain (default concurrency and 50), Redis commands per job, and latency at a steady rate."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from bench.measure import (
    Counters,
    WorkerProcess,
    cmd_delta,
    cmd_total,
    cmdstats,
    percentile,
    read_stamps,
    stamps_done,
    wait_stamps,
)
from bench.systems import ROOT, Ready

QUEUE = "bench"


@dataclass(frozen=True)
class Sizes:
    enqueue: int = 10_000
    drain: int = 10_000
    commands: int = 1_000
    latency: int = 1_000
    rate: float = 100.0
    drain_timeout_s: float = 120.0


QUICK = Sizes(enqueue=2_000, drain=2_000, commands=1_000, latency=200, drain_timeout_s=40.0)


class DriverError(RuntimeError):
    """A driver exited non-zero or printed no result."""


class Round:
    def __init__(self, ready: Ready, r: redis.Redis, url: str, work: Path, sizes: Sizes) -> None:
        self.ready = ready
        self.r = r
        self.url = url
        self.work = work
        self.sizes = sizes
        self._serial = 0

    def _produce(self, command: str, n: int, **opts: object) -> float:
        argv = self.ready.argv(command, self.url, QUEUE, n=n, **opts)
        proc = subprocess.run(
            argv, env=self.ready.env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
            raise DriverError(f"{command} exited {proc.returncode}: {tail}")
        return float(json.loads(lines[-1])["seconds"])

    def _worker(self, concurrency: str) -> tuple[WorkerProcess, Path]:
        self._serial += 1
        times = self.work / f"{self.ready.system.key}-{self._serial}.times"
        env = {**self.ready.env, "BENCH_TIMES": str(times)}
        argv = self.ready.argv("worker", self.url, QUEUE, concurrency=concurrency)
        log = self.work / f"{self.ready.system.key}-{self._serial}.log"
        w = WorkerProcess(argv, env, ROOT, log)
        w.start()
        return w, times

    def enqueue(self, mode: str) -> dict[str, Any]:
        n = self.sizes.enqueue
        self.r.flushall()
        before = Counters.read(self.r)
        seconds = self._produce("enqueue", n, mode=mode)
        return {"per_s": round(n / seconds), **before.per_job(Counters.read(self.r), n)}

    def drain(self, concurrency: str) -> dict[str, Any]:
        n = self.sizes.drain
        self.r.flushall()
        self._produce("enqueue", n, mode="bulk" if self.ready.system.bulk else "single")
        w, times = self._worker(concurrency)
        try:
            # Redis's cost at backlog: from the first job seen done to the last, so the
            # worker's start-up and the idle time before it are not charged per job.
            wait_stamps(times, 1, w, self.sizes.drain_timeout_s)
            first, c0 = stamps_done(times), Counters.read(self.r)
            complete = wait_stamps(times, n, w, self.sizes.drain_timeout_s)
            c1 = Counters.read(self.r)
        finally:
            w.stop()
        stamps = read_stamps(times)
        elapsed = max(s[2] for s in stamps) - min(s[1] for s in stamps)
        out: dict[str, Any] = {"per_s": round(len(stamps) / elapsed), "rss": w.rss_mb()}
        if complete and n - first >= n // 2:
            out["backlog"] = {"jobs": n - first, **c0.per_job(c1, n - first)}
        if not complete:
            out["partial"] = f"{len(stamps)} of {n} jobs in {self.sizes.drain_timeout_s:.0f} s"
        return out

    def commands(self) -> dict[str, Any]:
        """Enqueue side (one at a time), then worker side (a backlog, start-up included)."""
        n = self.sizes.commands
        self.r.flushall()
        s0 = cmdstats(self.r)
        self._produce("enqueue", n, mode="single")
        s1 = cmdstats(self.r)
        w, times = self._worker(self.ready.system.default_arg)
        try:
            wait_stamps(times, n, w, self.sizes.drain_timeout_s * 2)
            s2 = cmdstats(self.r)
        finally:
            w.stop()
        worker = cmd_delta(s1, s2)
        top = sorted(worker.items(), key=lambda kv: -kv[1])[:6]
        return {
            "enqueue": round(cmd_total(cmd_delta(s0, s1)) / n, 2),
            "worker": round(cmd_total(worker) / n, 2),
            "worker_top": {k: round(v / n, 2) for k, v in top},
        }

    def latency(self) -> dict[str, Any]:
        """Enqueue-to-start at a steady rate to an idle, warmed-up worker."""
        n = self.sizes.latency
        self.r.flushall()
        w, times = self._worker(self.ready.system.default_arg)
        try:
            self._produce("enqueue", 1, mode="single")  # warm-up: the worker is up and polling
            wait_stamps(times, 1, w, 60)
            time.sleep(1.0)
            before = Counters.read(self.r)
            self._produce("pace", n, rate=self.sizes.rate)
            complete = wait_stamps(times, n + 1, w, 30)
            costs = before.per_job(Counters.read(self.r), n)
        finally:
            w.stop()
        stamps = sorted(read_stamps(times))[1:]
        if not complete:
            return {"backlogged": f"{len(stamps)} of {n} started within 30 s of the last enqueue"}
        waits = [(start - t) * 1000 for t, start, _ in stamps]
        return {
            "p50_ms": round(percentile(waits, 50), 2),
            "p99_ms": round(percentile(waits, 99), 2),
            "max_ms": round(max(waits), 2),
            **costs,
        }


def run_round(round_: Round) -> dict[str, Any]:
    """Every measurement for one system; a failing step is recorded and the others go on."""
    s = round_.ready.system
    steps: dict[str, Any] = {
        "enqueue_single": lambda: round_.enqueue("single"),
        "enqueue_bulk": (lambda: round_.enqueue("bulk")) if s.bulk else None,
        "drain_default": lambda: round_.drain(s.default_arg),
        "drain_c50": (lambda: round_.drain("50")) if s.c50 else None,
        "commands": round_.commands,
        "latency": round_.latency,
    }
    out: dict[str, Any] = {}
    for name, step in steps.items():
        if step is None:
            out[name] = None
            continue
        try:
            out[name] = step()
        except Exception as exc:  # recorded, never fatal: the other systems go on
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return out
