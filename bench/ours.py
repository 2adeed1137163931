"""Figures for our engine alone: Redis commands per job, memory per pending job, drain rate,
idle latency and worker RSS. Run by `make bench`; prints a table and writes JSON.

    python -m bench.ours [--out bench/ours.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import redis

from devstack.localredis import RedisServer
from worker_runtime import Client, JobSpec
from worker_runtime.engine import reads, writes

ROOT = Path(__file__).resolve().parents[1]


def _cmdstats(r: redis.Redis) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in r.info("commandstats").items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }


def _per_job(
    d: dict[str, int], n: int, skip: tuple[str, ...] = ("info", "config|resetstat")
) -> dict[str, float]:
    scripts = sum(v for k, v in d.items() if k.startswith("evalsha") or k.startswith("eval"))
    total = sum(v for k, v in d.items() if k not in skip)
    return {"round_trips": round(scripts / n, 3), "commands_incl_in_script": round(total / n, 3)}


async def commands_per_job(url: str, r: redis.Redis) -> dict[str, Any]:
    n = 1000
    out: dict[str, Any] = {}
    async with Client.from_url(url) as c:
        await c.enqueue("warm", "noop")  # loads scripts and registers nothing else later
        s0 = _cmdstats(r)
        for _ in range(n):
            await c.enqueue("single", "noop", {"x": 1})
        s1 = _cmdstats(r)
        out["enqueue_single"] = _per_job(_delta(s0, s1), n)
        await c.enqueue_many([JobSpec("bulk", "noop", {"x": 1})] * n)
        s2 = _cmdstats(r)
        out["enqueue_bulk"] = _per_job(_delta(s1, s2), n)
        for _ in range(n):  # one job per claim and per complete: the worst case
            got = await c.store.run(writes.claim("single", "w", 1))
            j = got.jobs[0]
            await c.store.run(writes.complete("single", "w", [(j.id, j.token, "")]))
        s3 = _cmdstats(r)
        out["claim_complete_single"] = _per_job(_delta(s2, s3), n)
        for _ in range(n // 100):  # what a busy worker does: batches of 100
            got = await c.store.run(writes.claim("bulk", "w", 100))
            await c.store.run(writes.complete("bulk", "w", [(j.id, j.token, "") for j in got.jobs]))
        s4 = _cmdstats(r)
        out["claim_complete_batch100"] = _per_job(_delta(s3, s4), n)
    return out


POLICIES: dict[str, dict[str, Any]] = {
    "none (aging off)": {"aging": False},
    "aging on (default)": {},
    "weighted fairness": {"aging": False, "fairness": "weighted"},
    "rate limit": {"aging": False, "rate_limit": 1_000_000},
    "max_running": {"aging": False, "max_running": 1_000_000},
    "per-key rate limit": {"aging": False, "key_rate_limit": 1_000_000},
    "per-key running cap": {"aging": False, "key_max_running": 1_000_000},
}


async def policy_costs(url: str, r: redis.Redis, n: int = 1000) -> dict[str, Any]:
    """Redis commands per job (claim + complete, worker-like batches of 10 and single jobs)
    with each policy on, limits set high enough never to bite."""
    out: dict[str, Any] = {}
    for name, settings in POLICIES.items():
        r.flushall()
        async with Client.from_url(url) as c:
            await c.configure("p", **settings)
            keyed = "key" in name
            specs = [
                JobSpec("p", "noop", rate_key="t" if keyed else None, priority=i % 3)
                for i in range(2 * n)
            ]
            await c.enqueue_many(specs)
            row = {}
            for label, batch in (("batch10", 10), ("single", 1)):
                before = _cmdstats(r)
                for _ in range(n // batch):
                    got = await c.store.run(writes.claim("p", "w", batch))
                    done = [(j.id, j.token, "") for j in got.jobs]
                    await c.store.run(writes.complete("p", "w", done))
                row[label] = _per_job(_delta(before, _cmdstats(r)), n)["commands_incl_in_script"]
            out[name] = row
    return out


async def memory_per_pending_job(url: str, r: redis.Redis, n: int = 100_000) -> dict[str, Any]:
    r.flushall()
    before = int(r.info("memory")["used_memory"])
    async with Client.from_url(url) as c:
        for i in range(0, n, 10_000):
            await c.enqueue_many([JobSpec("mem", "noop", {"i": k}) for k in range(i, i + 10_000)])
    after = int(r.info("memory")["used_memory"])
    rec = r.hget("brq:{mem}:jobs", cast(str, r.zrange("brq:{mem}:pending", 0, 0)[0]))
    payload = len(json.dumps({"i": 50_000}, separators=(",", ":")))
    per_job = (after - before) / n
    return {
        "jobs": n,
        "bytes_per_job": round(per_job),
        "payload_bytes": payload,
        "record_bytes": len(rec or b""),
        "bytes_per_job_excl_payload": round(per_job - payload),
    }


def _run_worker(url: str, queue: str, concurrency: int, burst: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker_runtime",
            "--redis-url",
            url,
            "worker",
            "start",
            "--queues",
            queue,
            "--handlers",
            "worker_runtime.examples",
            "--concurrency",
            str(concurrency),
            "--metrics-port",
            "0",
            *(["--burst"] if burst else []),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_rss(proc: subprocess.Popen[bytes]) -> float:
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024


async def drain(url: str, r: redis.Redis, concurrency: int, n: int = 10_000) -> dict[str, Any]:
    r.flushall()
    async with Client.from_url(url) as c:
        await c.configure("drain", keep_completed=n)
        await c.enqueue_many([JobSpec("drain", "noop")] * n)
    proc = _run_worker(url, "drain", concurrency, burst=True)
    rss = _wait_rss(proc)
    scores = [float(p[1]) for p in r.zrange("brq:{drain}:completed", 0, -1, withscores=True)]
    history = cast(list[str], r.hvals("brq:{drain}:hist"))
    first = min(int(h.split('"s":')[1].split(",")[0]) for h in history[:2000])
    elapsed = (max(scores) - min(first, min(scores))) / 1000
    return {
        "concurrency": concurrency,
        "jobs": len(scores),
        "jobs_per_s": round(n / elapsed),
        "worker_peak_rss_mb": round(rss, 1),
    }


async def latency(url: str, r: redis.Redis, n: int = 1000, rate: float = 100.0) -> dict[str, Any]:
    r.flushall()
    proc = _run_worker(url, "lat", 10, burst=False)
    try:
        await asyncio.sleep(2.0)  # let it start and go idle
        async with Client.from_url(url) as c:
            await c.configure("lat", keep_completed=n)
            ids = []
            t0 = time.perf_counter()
            for i in range(n):
                ids.append((await c.enqueue("lat", "noop")).id)
                await asyncio.sleep(max(0.0, t0 + (i + 1) / rate - time.perf_counter()))
            while (await c.stats("lat")).completed < n:
                await asyncio.sleep(0.1)
            jobs = await c.store.run(reads.jobs_info("lat", ids))
        waits = sorted(j.history[0].started_ms - j.enqueued_ms for j in jobs)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    q = statistics.quantiles(waits, n=100)
    return {
        "jobs": n,
        "rate_per_s": rate,
        "p50_ms": q[49],
        "p99_ms": q[98],
        "max_ms": waits[-1],
        "clock": "Redis server time, enqueue script to claim script (ms resolution)",
    }


def _script_usec(r: redis.Redis) -> int:
    """Microseconds Redis spent in scripts so far (its own CPU clock, less noisy than rates)."""
    stats = r.info("commandstats")
    return sum(int(v["usec"]) for k, v in stats.items() if k.startswith("cmdstat_eval"))


async def _claim_complete(c: Client, queue: str, n: int, batch: int) -> None:
    for _ in range(n // batch):
        got = await c.store.run(writes.claim(queue, "w", batch))
        await c.store.run(writes.complete(queue, "w", [(j.id, j.token, "") for j in got.jobs]))


async def events_cost(url: str, r: redis.Redis, n: int = 1000, runs: int = 3) -> dict[str, Any]:
    """What job events cost: Redis commands and Redis CPU (µs in scripts) per job for claim +
    complete (single jobs and batches of 100) and the drain rate of one worker (concurrency
    10), with nobody listening to the queue's events and with one listener; medians."""
    out: dict[str, Any] = {}
    channel = "brq:{ev}:events"
    for listening in (False, True):
        listener = r.pubsub()  # type: ignore[no-untyped-call]  # untyped in redis-py
        if listening:
            listener.subscribe(channel)
        row: dict[str, Any] = {}
        for label, batch in (("single", 1), ("batch100", 100)):
            usec = []
            for _ in range(runs):
                r.flushall()
                async with Client.from_url(url) as c:
                    await c.enqueue_many([JobSpec("ev", "noop")] * n)
                    before, t0 = _cmdstats(r), _script_usec(r)
                    await _claim_complete(c, "ev", n, batch)
                    counts = _delta(before, _cmdstats(r))
                    usec.append(round((_script_usec(r) - t0) / n, 2))
            row[f"claim_complete_{label}"] = _per_job(counts, n)["commands_incl_in_script"]
            row[f"claim_complete_{label}_redis_usec_per_job_median"] = statistics.median(usec)
        out["listener" if listening else "no_listener"] = row
        listener.close()
    rates: dict[str, list[float]] = {"no_listener": [], "listener": []}
    for _ in range(runs):
        for key in rates:
            listener = r.pubsub()  # type: ignore[no-untyped-call]
            if key == "listener":
                listener.subscribe("brq:{drain}:events")
            rates[key].append((await drain(url, r, 10, 5000))["jobs_per_s"])
            listener.close()
    for key, values in rates.items():
        out[key]["drain_c10_jobs_per_s_median"] = statistics.median(values)
        out[key]["drain_c10_jobs_per_s_runs"] = values
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "bench" / "ours.json"))
    parser.add_argument("--only", choices=["events"], help="Run one section and print it.")
    args = parser.parse_args()
    if args.only == "events":
        with tempfile.TemporaryDirectory() as tmp:
            server = RedisServer(Path(tmp))
            server.start()
            try:
                r = redis.Redis.from_url(server.url, decode_responses=True)
                print(json.dumps(await events_cost(server.url, r), indent=2))
            finally:
                server.stop()
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            r = redis.Redis.from_url(server.url, decode_responses=True)
            results = {
                "commands_per_job": await commands_per_job(server.url, r),
                "policy_costs": await policy_costs(server.url, r),
                "memory": await memory_per_pending_job(server.url, r),
                "drain": [await drain(server.url, r, c) for c in (1, 10, 50)],
                "events": await events_cost(server.url, r),
                "latency": await latency(server.url, r),
                "redis": r.info("server")["redis_version"],
            }
        finally:
            server.stop()
    print(json.dumps(results, indent=2))
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
