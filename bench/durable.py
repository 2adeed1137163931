"""The cost of the durable mode: enqueue throughput and latency with and without waiting for
a replica's acknowledgement (Redis WAIT), on a local master with one replica.

    python -m bench.durable [--jobs 3000] [--out bench/durable.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from devstack.localredis import RedisServer
from worker_runtime import Client, JobSpec


async def _singles(url: str, durable: bool, n: int) -> dict[str, Any]:
    latencies: list[float] = []
    async with Client.from_url(url, durable=durable) as c:
        await c.enqueue("warm", "noop")
        start = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            await c.enqueue("single", "noop", {"x": 1})
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "jobs_per_s": round(n / elapsed),
        "p50_ms": round(cuts[49] * 1000, 3),
        "p99_ms": round(cuts[98] * 1000, 3),
    }


async def _batches(url: str, durable: bool, n: int, size: int = 100) -> dict[str, Any]:
    async with Client.from_url(url, durable=durable) as c:
        start = time.perf_counter()
        for _ in range(n // size):
            await c.enqueue_many([JobSpec("bulk", "noop", {"x": 1})] * size)
        elapsed = time.perf_counter() - start
    return {"jobs_per_s": round(n / elapsed), "batch": size}


async def measure(url: str, n: int, rounds: int = 3) -> dict[str, Any]:
    """Median over ``rounds``, the two modes interleaved so that both see the same load."""
    runs: dict[str, list[dict[str, Any]]] = {"default": [], "durable": []}
    for _ in range(rounds):
        for durable in (False, True):
            runs["durable" if durable else "default"].append(
                {
                    "enqueue": await _singles(url, durable, n),
                    "enqueue_many": await _batches(url, durable, n),
                }
            )
    return {mode: _median(found) for mode, found in runs.items()}


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        kind: {k: statistics.median([r[kind][k] for r in runs]) for k in runs[0][kind]}
        for kind in runs[0]
    }


def measure_replicated(jobs: int, workdir: Path) -> dict[str, Any]:
    """``measure`` on a master and one replica started in ``workdir`` (the durable mode
    waits for a replica's acknowledgement)."""
    master, replica = RedisServer(workdir / "m"), RedisServer(workdir / "r")
    for server in (master, replica):
        server.workdir.mkdir()
        server.start()
    try:
        with redis.Redis(port=replica.port) as conn:
            conn.replicaof("127.0.0.1", str(master.port))
            while conn.info("replication").get("master_link_status") != "up":
                time.sleep(0.05)
        return asyncio.run(measure(master.url, jobs))
    finally:
        replica.stop()
        master.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("durable.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = measure_replicated(args.jobs, Path(tmp))
    result["setup"] = (
        f"local redis-server master + 1 replica on loopback, one client; {args.jobs} jobs "
        "per run, median of 3 interleaved runs"
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for mode in ("default", "durable"):
        one, many = result[mode]["enqueue"], result[mode]["enqueue_many"]
        print(
            f"{mode:8} enqueue: {one['jobs_per_s']:6} jobs/s  p50 {one['p50_ms']:.3f} ms  "
            f"p99 {one['p99_ms']:.3f} ms | enqueue_many(100): {many['jobs_per_s']:6} jobs/s"
        )


if __name__ == "__main__":
    main()
