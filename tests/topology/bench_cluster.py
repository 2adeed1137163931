"""Throughput and Redis CPU per job, a standalone Redis against a three-master Redis Cluster,
with the same in-process worker: ``.venv/bin/python -m tests.topology.bench_cluster [N]``."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from tests.redis_server import RedisServer
from tests.topology.rediscluster import RedisCluster, queue_on_slot_range
from worker_runtime import Client, JobSpec
from worker_runtime.handlers import build_handler
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.loop import Worker

QUEUES = [queue_on_slot_range(i, prefix=f"bench{i}-") for i in range(3)]


def _cpu_s(ports: list[int]) -> float:
    """Redis CPU seconds (user + system) summed over the servers on ``ports``."""
    total = 0.0
    for port in ports:
        with redis.Redis(port=port) as conn:
            info: dict[str, Any] = conn.info("cpu")
            total += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return total


async def _drain(url: str, ports: list[int], jobs: int) -> tuple[float, float]:
    """(jobs per second from first claim to last completion, Redis CPU ms per job)."""

    def noop(payload: Any, ctx: JobContext) -> None:
        return None

    async with Client.from_url(url) as client:
        specs = [JobSpec(QUEUES[n % 3], "noop", {"n": n}) for n in range(jobs)]
        for start in range(0, jobs, 500):
            await client.enqueue_many(specs[start : start + 500])
        cpu0, t0 = _cpu_s(ports), time.perf_counter()
        worker = Worker(
            client.store, QUEUES, {"noop": build_handler("noop", noop)}, concurrency=50, burst=True
        )
        await worker.run()
        elapsed, cpu = time.perf_counter() - t0, _cpu_s(ports) - cpu0
        done = sum([(await client.stats(q)).completed for q in QUEUES])
        assert done == jobs, f"{done} of {jobs} completed"
    return jobs / elapsed, cpu * 1000 / jobs


def main(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "standalone")
        (Path(tmp) / "standalone").mkdir()
        cluster = RedisCluster(Path(tmp) / "cluster")
        (Path(tmp) / "cluster").mkdir()
        server.start()
        try:
            cluster.start()
            try:
                for name, url, ports in (
                    ("standalone", server.url, [server.port]),
                    ("3-master cluster", cluster.url, [n.port for n in cluster.nodes]),
                ):
                    rate, cpu_ms = asyncio.run(_drain(url, ports, jobs))
                    print(
                        f"{name:18} {jobs} jobs: {rate:7.0f} jobs/s, Redis CPU {cpu_ms:.3f} ms/job"
                    )
            finally:
                cluster.stop()
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
