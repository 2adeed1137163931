"""Our engine at scale: memory per pending job and claim latency at 1,000 versus 1,000,000
pending; 30,000 jobs in flight across a few worker processes (heartbeat load, Redis CPU).
The autoscaler's reaction in the `make run` stack is bench/autoscale.py."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench.measure import WorkerProcess, cmd_delta, cmd_total, cmdstats, percentile, redis_cpu_s
from bench.systems import ROOT
from worker_runtime import Client, JobSpec
from worker_runtime.engine import writes

CHUNK = 10_000
#: Jobs one worker holds in the in-flight run. Kept below 4,000: claim.lua and
#: heartbeat.lua unpack() two Lua values per job, and Redis's Lua refuses to unpack 8,000 or
#: more, so a claim of 4,000+ jobs fails after removing them from pending (they are lost) and a
#: heartbeat for 4,000+ held jobs fails. Reported; `--inflight-processes 3` reproduces it.
MAX_HELD_PER_WORKER = 3_000


async def _fill(
    c: Client, queue: str, n: int, name: str = "bench_noop", payload: dict[str, Any] | None = None
) -> None:
    for i in range(0, n, CHUNK):
        size = min(CHUNK, n - i)
        specs = [JobSpec(queue, name, payload or {"i": i + k}) for k in range(size)]
        await c.enqueue_many(specs)


async def _claim_times(c: Client, queue: str, calls: int) -> dict[str, float]:
    """Times ``calls`` single-job claims; each claimed job is replaced by a new pending one
    (untimed), so the pending count stays where it was."""
    micros = []
    for _ in range(calls):
        t0 = time.perf_counter()
        got = await c.store.run(writes.claim(queue, "bench-claimer", 1))
        micros.append((time.perf_counter() - t0) * 1e6)
        assert got.jobs, "the queue ran dry"
        await c.enqueue(queue, "bench_noop", {"i": 0})
    return {
        "calls": calls,
        "p50_us": round(percentile(micros, 50)),
        "p99_us": round(percentile(micros, 99)),
        "mean_us": round(sum(micros) / calls),
    }


async def pending(url: str, r: redis.Redis, n: int, calls: int = 2000) -> dict[str, Any]:
    """Redis memory per pending job with ``n`` queued, and claim latency at ``n`` and 1,000."""
    out: dict[str, Any] = {"jobs": n}
    async with Client.from_url(url) as c:
        r.flushall()
        before = int(r.info("memory")["used_memory"])
        t0 = time.perf_counter()
        await _fill(c, "scale", n)
        out["enqueue_bulk_per_s"] = round(n / (time.perf_counter() - t0))
        used = int(r.info("memory")["used_memory"]) - before
        out["bytes_per_job"] = round(used / n)
        out["payload_bytes"] = len('{"i":500000}')
        out[f"claim_at_{n}"] = await _claim_times(c, "scale", calls)
        r.flushall()
        await _fill(c, "scale", 1000)
        out["claim_at_1000"] = await _claim_times(c, "scale", calls)
    return out


def _start_sleepers(url: str, work: Path, processes: int, each: int) -> list[WorkerProcess]:
    workers = []
    for i in range(processes):
        argv = [
            sys.executable,
            "-m",
            "worker_runtime",
            "--redis-url",
            url,
            "worker",
            "start",
            "--queues",
            "inflight",
            "--handlers",
            "bench.handlers",
            "--concurrency",
            str(each),
            "--metrics-port",
            "0",
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        w = WorkerProcess(argv, env, ROOT, work / f"s{i}.log")
        w.start()
        workers.append(w)
    return workers


async def _wait_running(c: Client, jobs: int, workers: list[WorkerProcess]) -> None:
    deadline = time.monotonic() + 180
    while (running := (await c.stats("inflight")).running) < jobs:
        if time.monotonic() > deadline or not all(w.alive() for w in workers):
            tails = "; ".join(w.log_tail(1) for w in workers)
            raise RuntimeError(f"only {running} of {jobs} running: {tails}")
        await asyncio.sleep(0.2)


async def in_flight(
    url: str, r: redis.Redis, jobs: int, processes: int = 3, window_s: float = 20.0
) -> dict[str, Any]:
    """``jobs`` handlers sleeping at once across ``processes`` workers; Redis load meanwhile."""
    r.flushall()
    hold_s = window_s + 60  # every job still sleeping when the window closes
    with tempfile.TemporaryDirectory() as tmp:
        workers = _start_sleepers(url, Path(tmp), processes, -(-jobs // processes))
        try:
            async with Client.from_url(url) as c:
                t0 = time.perf_counter()
                await _fill(c, "inflight", jobs, "bench_sleep", {"s": hold_s})
                await _wait_running(c, jobs, workers)
                ramp_s = time.perf_counter() - t0
                await asyncio.sleep(2.0)  # the claim burst is over
                s0, cpu0, w0 = cmdstats(r), redis_cpu_s(r), time.perf_counter()
                await asyncio.sleep(window_s)
                s1, cpu1, w1 = cmdstats(r), redis_cpu_s(r), time.perf_counter()
                still = (await c.stats("inflight")).running
        finally:
            for w in workers:
                w.stop()
            rss = [w.peak_tree_kb for w in workers]
    delta = cmd_delta(s0, s1)
    wall = w1 - w0
    scripts = sum(v for k, v in delta.items() if k.startswith(("evalsha", "eval", "fcall")))
    return {
        "jobs": jobs,
        "worker_processes": processes,
        "seconds_until_all_running": round(ramp_s, 1),
        "window_s": round(wall, 1),
        "running_at_end_of_window": still,
        "commands_per_s": round(cmd_total(delta) / wall),
        "script_calls_per_s": round(scripts / wall, 2),
        "commands_per_job_per_s": round(cmd_total(delta) / wall / jobs, 4),
        "redis_cpu_percent": round(100 * (cpu1 - cpu0) / wall, 1),
        "worker_rss_mb": [round(kb / 1024, 1) for kb in rss],
        "top_commands_per_s": {
            k: round(v / wall, 1) for k, v in sorted(delta.items(), key=lambda kv: -kv[1])[:8]
        },
    }
