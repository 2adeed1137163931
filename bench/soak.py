"""Two long runs of real worker processes, counted from an execution log outside Redis.

    python -m bench.soak drain [--jobs 100000 --workers 4]
        every job exactly once with AOF everysec; Redis used_memory before, at the peak,
        and once the retention of completed jobs has trimmed them
    python -m bench.soak due [--low 10000 --high 1000 --delayed 5000 --spread 30]
        one worker: no delayed job starts before it is due (Redis clock), how late they
        start, and every HIGH job before every LOW one

`tests/worker/test_soak.py` runs both, smaller, in `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import redis

from devstack.localredis import RedisServer
from worker_runtime import JobSpec, SyncClient
from worker_runtime.models import Priority

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "soak"
#: Completed jobs kept: small, so that retention trims as the drain goes.
KEEP_COMPLETED = 1000
DELAYED, HIST = f"brq:{{{QUEUE}}}:delayed", f"brq:{{{QUEUE}}}:hist"


class Workers:
    """``blackroad worker start`` processes running ``bench.soak_handlers``."""

    def __init__(self, url: str, log: Path, workdir: Path) -> None:
        self.url, self.log, self.workdir = url, log, workdir
        self.log.touch()
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, n: int, concurrency: int = 20) -> None:
        env = dict(os.environ, SOAK_LOG=str(self.log), REDIS_URL=self.url, PYTHONPATH=str(ROOT))
        for i in range(n):
            argv = [sys.executable, "-m", "worker_runtime", "worker", "start", "--queues", QUEUE]
            argv += ["--handlers", "bench.soak_handlers", "--concurrency", str(concurrency)]
            # No /metrics: the default port is one for all, and taken by anything else on the host.
            argv += ["--metrics-port", "0"]
            with open(self.workdir / f"worker-{i}.log", "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        [*argv, "--name", f"soak-{i}"], env=env, stdout=out, stderr=out, cwd=ROOT
                    )
                )

    def executions(self) -> Counter[str]:
        return Counter(self.log.read_text().split())

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _memory(r: redis.Redis) -> int:
    return int(r.info("memory")["used_memory"])


def drain(workdir: Path, jobs: int = 100_000, workers: int = 4) -> dict[str, Any]:
    """Enqueues ``jobs`` no-op jobs, drains them with ``workers`` processes (AOF everysec)."""
    server = RedisServer(workdir / "redis", aof=True)
    server.workdir.mkdir(parents=True)
    server.start()
    fleet = Workers(server.url, workdir / "executions.log", workdir)
    r = redis.Redis.from_url(server.url)
    try:
        with SyncClient(server.url) as c:
            c.configure(QUEUE, keep_completed=KEEP_COMPLETED)
            start_mem = _memory(r)
            ids: list[str] = []
            for i in range(0, jobs, 10_000):
                batch = [JobSpec(QUEUE, "soak", {"i": k}) for k in range(i, min(jobs, i + 10_000))]
                ids += [e.id for e in c.enqueue_many(batch)]
            peak_mem = _memory(r)
            began = time.monotonic()
            fleet.start(workers)
            _until(lambda: len(fleet.log.read_bytes()) >= jobs * 17, 1800, "the drain")
            _until(lambda: _idle(c), 120, "the last acknowledgements")
            seconds = time.monotonic() - began
            end_mem = _memory(r)
            stats = c.stats(QUEUE)
        runs = fleet.executions()
        return {
            "jobs": jobs,
            "workers": workers,
            "aof": "everysec",
            "seconds": round(seconds, 1),
            "jobs_per_s": round(jobs / seconds),
            "executed_once": sum(1 for i in ids if runs[i] == 1),
            "missing": sum(1 for i in ids if runs[i] == 0),
            "duplicates": sum(n - 1 for n in runs.values() if n > 1),
            "completed_kept": stats.completed,
            "used_memory_mb": {
                "start": round(start_mem / 2**20, 2),
                "peak": round(peak_mem / 2**20, 2),
                "end": round(end_mem / 2**20, 2),
            },
            "ids": ids,
        }
    finally:
        fleet.stop()
        r.close()
        server.stop()


def _idle(c: SyncClient) -> bool:
    s = c.stats(QUEUE)
    return s.pending == 0 and s.running == 0 and s.delayed == 0


def due(
    workdir: Path, low: int = 10_000, high: int = 1_000, delayed: int = 5_000, spread: float = 30
) -> dict[str, Any]:
    """One worker; LOW and HIGH jobs interleaved (waiting while the queue is paused) and
    delayed jobs due uniformly over ``spread`` seconds from the moment it resumes."""
    server = RedisServer(workdir / "redis")
    server.workdir.mkdir(parents=True)
    server.start()
    fleet = Workers(server.url, workdir / "executions.log", workdir)
    r = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        with SyncClient(server.url) as c:
            c.configure(QUEUE, paused=True, keep_completed=low + high + delayed)
            fleet.start(1, concurrency=10)
            every = max(1, low // max(1, high))
            specs = []
            for i in range(low + high):
                prio = Priority.HIGH if (i + 1) % (every + 1) == 0 and high else Priority.LOW
                specs.append(JobSpec(QUEUE, "soak", priority=prio))
            got = c.enqueue_many(specs[: low + high])
            level = {e.id: s.priority for e, s in zip(got, specs, strict=True)}
            seconds, micros = r.time()
            resume_at = seconds + micros / 1e6 + 2.0
            timed = [
                JobSpec(QUEUE, "soak", run_at=resume_at + random.uniform(0, spread))
                for _ in range(delayed)
            ]
            for k in range(0, delayed, 10_000):
                c.enqueue_many(timed[k : k + 10_000])
            waiting = cast(list[tuple[str, float]], r.zrange(DELAYED, 0, -1, withscores=True))
            due_ms = {job_id: int(score) for job_id, score in waiting}
            _until(lambda: _redis_s(r) >= resume_at, 30, "the resume time")
            c.configure(QUEUE, paused=False)
            total = low + high + delayed
            _until(lambda: len(fleet.executions()) >= total, 600, "every job")
            _until(lambda: _idle(c), 60, "the last acknowledgements")
        started = _first_starts(r)
        late = sorted(started[i] - d for i, d in due_ms.items())
        highs = [started[i] for i, p in level.items() if p == Priority.HIGH]
        lows = [started[i] for i, p in level.items() if p == Priority.LOW]
        return {
            "low": low,
            "high": high,
            "delayed": len(due_ms),
            "spread_s": spread,
            "started_early": sum(1 for x in late if x < 0),
            "late_ms_p50": late[len(late) // 2],
            "late_ms_p99": late[int(len(late) * 0.99)],
            "late_ms_max": late[-1],
            "within_1s": round(sum(1 for x in late if x <= 1000) / len(late), 4),
            "high_before_low": max(highs) <= min(lows),
            "last_high_ms_after_first_low": max(highs) - min(lows),
            "executions": sum(fleet.executions().values()),
        }
    finally:
        fleet.stop()
        r.close()
        server.stop()


def _redis_s(r: redis.Redis) -> float:
    seconds, micros = r.time()
    return float(seconds + micros / 1e6)


def _first_starts(r: redis.Redis) -> dict[str, int]:
    """Each job's first claim on the Redis clock, from its history."""
    starts = {}
    for job_id, hist in cast(dict[str, str], r.hgetall(HIST)).items():
        starts[job_id] = min(int(a["s"]) for a in json.loads(f"[{hist}]"))
    return starts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="run", required=True)
    d = sub.add_parser("drain")
    d.add_argument("--jobs", type=int, default=100_000)
    d.add_argument("--workers", type=int, default=4)
    u = sub.add_parser("due")
    u.add_argument("--low", type=int, default=10_000)
    u.add_argument("--high", type=int, default=1_000)
    u.add_argument("--delayed", type=int, default=5_000)
    u.add_argument("--spread", type=float, default=30.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.run == "drain":
            out = drain(Path(tmp), args.jobs, args.workers)
            out.pop("ids")
        else:
            out = due(Path(tmp), args.low, args.high, args.delayed, args.spread)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
