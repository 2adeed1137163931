"""The whole benchmark: installs the peers (cached outside the repository), runs every system
side by side against one local redis-server for several rounds, adds our engine's own figures
(bench/ours.py) and scale runs, and writes bench/RESULTS.md and bench/results.json.

    python -m bench.run [--rounds 3] [--quick] [--systems ours,bullmq,...] [--no-scale]
                        [--no-inflight] [--no-autoscale]
    python -m bench.run --only-autoscale [--autoscale-rounds 3] [--autoscale-ms 10]

--only-autoscale measures only the autoscaler's reaction in the `make run` stack, puts it into
the existing results.json in place (every other figure kept as it was) and rewrites RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis

from bench import autoscale, ours, report, scale
from bench.compare import QUICK, Round, Sizes, run_round
from bench.machine import describe
from bench.measure import idle_cpu_us_per_s
from bench.summary import summarize
from bench.systems import ROOT, SYSTEMS, Ready, System, prepare
from devstack.localredis import RedisServer

METHOD = [
    "Each system is driven by a small script under bench/peers/ run with that library's own "
    "virtualenv (BullMQ: Node, bench/peers/bullmq_driver.mjs); the harness, Redis counters and "
    "clocks stay outside it. Worker start-up is never timed.",
    "enqueue_single / enqueue_bulk: jobs enqueued from one client in one process, timed inside "
    "the driver around the enqueue calls only; bulk calls take 1,000 jobs each.",
    "drain: the queue is filled first, then one worker process starts; rate = jobs / (last "
    "handler end - first handler start). Handlers are no-ops that append one 54-byte line "
    "(enqueue time, start, end from time.time()) to a file with one O_APPEND write per job "
    "(bench/peers/common.py); the same for every system, ours included (bench/handlers.py).",
    "latency: the worker starts, runs one warm-up job and idles 1 s; then 1,000 jobs are "
    "enqueued at a steady 100/s; latency = handler start - the producer's time.time() just "
    "before its enqueue call (carried in the payload), so it includes the enqueue round trip. "
    "Our engine's server-clock figures (enqueue script to claim script) are in results.json "
    "under ours_detail.latency.",
    "Redis commands per job: INFO commandstats deltas (commands run inside Lua scripts "
    "included, the harness's INFO/FLUSHALL excluded) over 1,000 jobs enqueued one at a time "
    "(enqueue side), then drained as a backlog by a fresh worker at its default concurrency "
    "(worker side, its start-up included). 'cmds/job at 100/s' in results.json is both sides "
    "during the latency run, idle polling included.",
    "Redis CPU µs per job (the fleet cost: what bounds how many workers one Redis serves): "
    "INFO cpu used_cpu_user + used_cpu_sys deltas divided by jobs. 'At backlog, both sides' = "
    "the one-at-a-time enqueue run (10,000 jobs) + the default-concurrency drain from the first "
    "job seen done to the last (start-up and idle time not charged; the window's commands per "
    "job are in results.json under drain_default.backlog). 'At 100/s' = both sides over the "
    "latency run (1,000 jobs in 10 s, idle polling and Redis's own cron included: see the "
    "idle figure above).",
    "worker RSS: peak of the worker's main process (VmHWM) during the default-concurrency "
    "drain; 'with children' is the peak sum of VmRSS over its process tree, sampled every "
    "0.2 s (a fork per job, as RQ's, is mostly missed by sampling).",
    "Per-job logging is off or at WARNING for every system; results are kept at each "
    "library's default (no result backend for Celery and taskiq).",
]

NOTES = {
    "bullmq": "Worker and Queue in one Node process each; ioredis beside bullmq; jobs kept "
    "after completion at the library's default.",
    "saq": "Worker in-process (Worker.start); SAQ has Queue.map but it waits for results, "
    "so enqueue_bulk is none.",
    "taskiq": "`taskiq worker --workers 1`: the CLI process plus one worker child; taskiq-redis "
    "RedisStreamBroker (XADD / XREADGROUP / XACK).",
    "dramatiq": "`dramatiq --processes 1`: a supervisor plus one worker process; its consumer "
    "backs off when idle, which shows in latency.",
    "celery": "Default prefork pool (one child per CPU); concurrency 50 uses `-P threads -c 50` "
    "to stay in one process; enqueue_bulk is a group, one publish per job.",
    "arq": "Worker in-process (arq.worker.Worker.run); polls every 0.5 s by default.",
    "rq": "`rq worker`: forks a work horse per job; no concurrency within a worker process.",
    "rq-simple": "`rq worker -w rq.worker.SimpleWorker`: runs jobs in-process, one at a time.",
    "ours": "`python -m worker_runtime worker start` with bench.handlers; concurrency 10.",
}


def _prepare_all(keys: list[str]) -> tuple[list[Ready], dict[str, Any]]:
    ready: list[Ready] = []
    results: dict[str, Any] = {}
    for s in SYSTEMS:
        if s.key not in keys:
            continue
        entry: dict[str, Any] = {"system": _describe(s)}
        t0 = time.perf_counter()
        try:
            r = prepare(s)
            ready.append(r)
            entry.update(versions=r.versions, rounds=[])
        except Exception as exc:  # one peer failing to install never stops the others
            entry["unavailable"] = f"{type(exc).__name__}: {exc}"[:300]
        print(f"{s.key}: ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        results[s.key] = entry
    return ready, results


def _describe(s: System) -> dict[str, Any]:
    return {
        "name": s.name,
        "bulk_api": s.bulk or "none",
        "default_concurrency": s.default_concurrency,
        "concurrency_50": s.c50,
        "requirements": list(s.requirements),
        "notes": NOTES.get(s.key, ""),
    }


async def _ours_detail(url: str, r: redis.Redis, quick: bool) -> dict[str, Any]:
    """bench/ours.py's figures: commands per job by path and policy, memory, drain at 1/10/50
    with its burst worker, and idle latency on the Redis server clock."""
    n = 2_000 if quick else 10_000

    async def drains() -> list[dict[str, Any]]:
        return [await ours.drain(url, r, c, n) for c in (1, 10, 50)]

    steps: dict[str, Callable[[], Awaitable[Any]]] = {
        "commands_per_job": lambda: ours.commands_per_job(url, r),
        "policy_costs": lambda: ours.policy_costs(url, r, 200 if quick else 1000),
        "memory": lambda: ours.memory_per_pending_job(url, r, 10 * n),
        "drain": drains,
        "latency": lambda: ours.latency(url, r, 200 if quick else 1000),
    }
    out: dict[str, Any] = {}
    for name, step in steps.items():
        r.flushall()
        try:
            out[name] = await step()
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return out


async def _scale(url: str, r: redis.Redis, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    jobs = args.pending or (100_000 if args.quick else 1_000_000)
    try:
        out["pending"] = await scale.pending(url, r, jobs)
    except Exception as exc:
        out["pending"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    if args.inflight:
        n = args.inflight_jobs or (3_000 if args.quick else 30_000)
        try:
            procs = args.inflight_processes or max(3, -(-n // scale.MAX_HELD_PER_WORKER))
            window = 10 if args.quick else 20
            out["in_flight"] = await scale.in_flight(url, r, n, procs, window_s=window)
        except Exception as exc:
            out["in_flight"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    r.flushall()
    if args.autoscale:
        out["autoscaler"] = await _autoscaler(args)
    return out


async def _autoscaler(args: argparse.Namespace) -> dict[str, Any]:
    """bench/autoscale.py in its own `make run` stack (its own Redis, not the bench's)."""
    t0 = time.perf_counter()
    try:
        settings = autoscale.Settings(handler_ms=args.autoscale_ms)
        out = await autoscale.autoscaler(settings, rounds=args.autoscale_rounds)
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    out["date"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"autoscaler: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


async def _only_autoscale(args: argparse.Namespace) -> None:
    """Measures the autoscaler alone and merges it into the existing results.json."""
    out = Path(args.out)
    path = out / "results.json"
    if not path.exists():
        raise SystemExit(f"{path} does not exist: run the full benchmark first")
    results = json.loads(path.read_text())
    got = await _autoscaler(args)
    got["command"] = "python -m bench.run " + " ".join(sys.argv[1:])
    results.setdefault("scale", {})["autoscaler"] = got
    path.write_text(json.dumps(results, indent=2) + "\n")
    (out / "RESULTS.md").write_text(report.render(results))
    print(json.dumps(got, indent=2))


def _shared(before: float, after: float) -> str:
    """The machine's load around the run: rates from a shared machine vary between runs."""
    return (
        f"1-minute load average {before:.1f} at the start and {after:.1f} at the end on "
        f"{os.cpu_count()} cores: the machine was shared with other work, so absolute rates "
        "vary between runs more than the min-max within one run shows; compare ratios."
    )


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="smaller job counts, for trying out")
    p.add_argument("--systems", default=",".join(s.key for s in SYSTEMS))
    p.add_argument("--no-scale", dest="scale", action="store_false", help="skip scale runs")
    p.add_argument(
        "--no-inflight",
        dest="inflight",
        action="store_false",
        help="skip the 30,000-jobs-in-flight run",
    )
    p.add_argument(
        "--no-autoscale",
        dest="autoscale",
        action="store_false",
        help="skip the autoscaler run (the make run stack)",
    )
    p.add_argument(
        "--only-autoscale",
        action="store_true",
        help="the autoscaler run alone, merged into results.json",
    )
    p.add_argument("--autoscale-rounds", type=int, default=3, help="bursts in the autoscaler run")
    p.add_argument("--autoscale-ms", type=int, default=10, help="each burst job's handler time")
    p.add_argument("--pending", type=int, default=0, help="jobs for the pending run")
    p.add_argument("--inflight-jobs", type=int, default=0)
    p.add_argument(
        "--inflight-processes",
        type=int,
        default=0,
        help="in-flight run's worker processes (default: 3,000 jobs each)",
    )
    p.add_argument("--out", default=str(ROOT / "bench"), help="folder for RESULTS.md/.json")
    return p.parse_args()


async def main() -> None:
    args = _parse()
    if args.only_autoscale:
        await _only_autoscale(args)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # now: not after a half-hour run has nowhere to go
    sizes: Sizes = QUICK if args.quick else Sizes()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    ready, systems = _prepare_all(args.systems.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            r = redis.Redis.from_url(server.url, decode_responses=True)
            idle_cpu = idle_cpu_us_per_s(r)
            for i in range(args.rounds):
                order = ready[i % len(ready) :] + ready[: i % len(ready)] if ready else []
                for rd in order:
                    t0 = time.perf_counter()
                    work = Path(tmp) / f"round{i}"
                    work.mkdir(exist_ok=True)
                    result = run_round(Round(rd, r, server.url, work, sizes))
                    systems[rd.system.key]["rounds"].append(result)
                    took = time.perf_counter() - t0
                    print(f"round {i + 1} {rd.system.key}: {took:.0f} s", file=sys.stderr)
            for data in systems.values():
                if "rounds" in data:
                    data["summary"] = summarize(data["rounds"])
            detail = await _ours_detail(server.url, r, args.quick) if "ours" in systems else {}
            scaled = await _scale(server.url, r, args) if args.scale else {}
            redis_version = str(r.info("server")["redis_version"])
        finally:
            server.stop()
    command = "python -m bench.run " + " ".join(sys.argv[1:])
    results = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command.strip(),
        "rounds": args.rounds,
        "quick": args.quick,
        "mode_note": "QUICK MODE: smaller job counts, for trying out only."
        if args.quick
        else "Full job counts.",
        "sizes": sizes.__dict__,
        "seconds": round(time.perf_counter() - started),
        "machine": describe(redis_version),
        "redis_idle_cpu_us_per_s": idle_cpu,
        "shared_machine": _shared(load_before, os.getloadavg()[0]),
        "method": METHOD,
        "systems": systems,
        "ours_detail": detail,
        "scale": scaled,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "RESULTS.md").write_text(report.render(results))
    print((out / "RESULTS.md").read_text())


if __name__ == "__main__":
    asyncio.run(main())
