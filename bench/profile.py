"""Where our worker's time goes at backlog: py-spy samples the worker's main process while it
drains a bulk-enqueued backlog of no-op jobs, and Redis's commandstats (calls and µs per
command) and CPU per job are read over the same drain. Needs py-spy (`pip install py-spy`).

    python -m bench.profile [--jobs 50000] [--concurrency 10] [--out bench/profile.json]
                            [--speedscope profile.speedscope.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from bench.measure import Counters, stamps_done
from devstack.localredis import RedisServer
from worker_runtime import Client, JobSpec

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "profile"
#: A sample whose stack passes through the import machinery is start-up, not draining.
STARTUP = "_find_and_load"
#: Frames in at least this share of the samples are the program's trunk.
TRUNK = 0.95
FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _frame(raw: str) -> str:
    """``fn (path/to/file.py:123)`` -> ``fn (file.py)``: one row per function, not per line."""
    m = FRAME.match(raw)
    if m is None:
        return raw
    return f"{m['fn']} ({'/'.join(Path(m['file']).parts[-2:])})"


def hot_spots(collapsed: str, top: int = 20) -> dict[str, Any]:
    """Self and inclusive shares of py-spy's collapsed stacks (``a;b;c count`` lines)."""
    own: Counter[str] = Counter()
    within: Counter[str] = Counter()
    total = startup = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        if STARTUP in stack:
            startup += n
            continue
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            within[f] += n

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        # The trunk every sample shares (runpy, click, asyncio.run) says nothing: left out.
        rows = [(f, round(100 * v / total, 1)) for f, v in c.most_common() if v < TRUNK * total]
        return rows[:top]

    return {
        "samples": total,
        "startup_samples": startup,
        "self_pct": share(own) if total else [],
        "inclusive_pct": share(within) if total else [],
    }


def redis_per_job(before: dict[str, Any], after: dict[str, Any], jobs: int) -> dict[str, Any]:
    """Calls and µs per job by command (a script's µs include the commands it runs)."""
    out = {}
    for key, stats in after.items():
        was = before.get(key, {"calls": 0, "usec": 0})
        calls = int(stats["calls"]) - int(was["calls"])
        if calls and key.removeprefix("cmdstat_") not in ("info", "flushall"):
            usec = int(stats["usec"]) - int(was["usec"])
            out[key.removeprefix("cmdstat_")] = {
                "calls_per_job": round(calls / jobs, 3),
                "usec_per_job": round(usec / jobs, 2),
            }
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["usec_per_job"]))


async def _fill(url: str, jobs: int) -> None:
    async with Client.from_url(url) as c:
        for start in range(0, jobs, 1000):
            t = time.time()
            await c.enqueue_many([JobSpec(QUEUE, "bench_noop", {"t": t})] * min(1000, jobs - start))


def profile(jobs: int, concurrency: int, speedscope: Path | None) -> dict[str, Any]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            r = redis.Redis.from_url(server.url, decode_responses=True)
            asyncio.run(_fill(server.url, jobs))
            times = Path(tmp) / "times"
            raw = Path(tmp) / "stacks.txt"
            worker = [
                *(sys.executable, "-m", "worker_runtime", "--redis-url", server.url),
                *("worker", "start", "--queues", QUEUE, "--handlers", "bench.handlers"),
                *("--concurrency", str(concurrency), "--metrics-port", "0", "--burst"),
            ]
            env = {**os.environ, "BENCH_TIMES": str(times), "PYTHONPATH": str(ROOT)}
            s0, c0 = r.info("commandstats"), Counters.read(r)
            t0 = time.perf_counter()
            record = [spy, "record", "--rate", "250", "--format", "raw", "-o", str(raw), "--"]
            subprocess.run([*record, *worker], env=env, cwd=ROOT, check=True, capture_output=True)
            wall = time.perf_counter() - t0
            s1, c1 = r.info("commandstats"), Counters.read(r)
            done = stamps_done(times)
            if speedscope is not None:
                # A second, shorter drain for the speedscope view (py-spy writes one format a run).
                asyncio.run(_fill(server.url, min(jobs, 20_000)))
                record[4:8] = ["--format", "speedscope", "-o", str(speedscope)]
                subprocess.run([*record, *worker], env=env, cwd=ROOT, check=True)
            return {
                "jobs": done,
                "concurrency": concurrency,
                "wall_s_with_startup": round(wall, 2),
                "redis": c0.per_job(c1, done),
                "redis_by_command": redis_per_job(s0, s1, done),
                "python": hot_spots(raw.read_text()),
            }
        finally:
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--jobs", type=int, default=50_000)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--out", default=str(ROOT / "bench" / "profile.json"))
    p.add_argument("--speedscope", default="", help="also write a speedscope file here")
    a = p.parse_args()
    got = profile(a.jobs, a.concurrency, Path(a.speedscope) if a.speedscope else None)
    got["command"] = "python -m bench.profile " + " ".join(sys.argv[1:])
    Path(a.out).write_text(json.dumps(got, indent=2) + "\n")
    print(json.dumps(got, indent=2))


if __name__ == "__main__":
    main()
