"""Wake-up latency (enqueue to the handler's start, an idle worker polling every 60 s) on a
standalone Redis against a three-master Redis Cluster (sharded pub/sub), runs alternated:
``.venv/bin/python -m tests.topology.bench_wake [JOBS] [ROUNDS]``."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from tests.redis_server import RedisServer
from tests.topology.rediscluster import RedisCluster, queue_on_slot_range
from worker_runtime import Client
from worker_runtime.handlers import build_handler
from worker_runtime.worker import loop as worker_loop
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.loop import Worker

QUEUES = [queue_on_slot_range(i, prefix=f"wake{i}-") for i in range(3)]


async def _latencies(url: str, jobs: int) -> list[float]:
    """Enqueue-to-start seconds of ``jobs`` jobs sent one at a time to an idle worker."""
    worker_loop.IDLE_WAIT_S = 60.0
    started: dict[str, float] = {}
    arrived = asyncio.Event()

    async def work(payload: Any, ctx: JobContext) -> None:
        started[ctx.id] = time.perf_counter()
        arrived.set()

    async with Client.from_url(url) as client:
        worker = Worker(client.store, QUEUES, {"j": build_handler("j", work)}, concurrency=4)
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(1.0)  # subscribed, first claims done: idle
        out = []
        try:
            for n in range(jobs):
                arrived.clear()
                sent = time.perf_counter()
                job = await client.enqueue(QUEUES[n % 3], "j")
                await asyncio.wait_for(arrived.wait(), 30)
                out.append(started[job.id] - sent)
                await asyncio.sleep(0.05)  # idle again
        finally:
            worker.stop()
            await task
        return out


def main(jobs: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "standalone").mkdir()
        server = RedisServer(Path(tmp) / "standalone")
        (Path(tmp) / "cluster").mkdir()
        cluster = RedisCluster(Path(tmp) / "cluster")
        server.start()
        try:
            cluster.start()
            medians: dict[str, list[float]] = {"standalone": [], "cluster": []}
            for _ in range(rounds):
                for name, url in (("standalone", server.url), ("cluster", cluster.url)):
                    cluster.flush()
                    with redis.Redis(port=server.port) as conn:
                        conn.flushall()
                    got = asyncio.run(_latencies(url, jobs))
                    medians[name].append(statistics.median(got) * 1000)
            for name, values in medians.items():
                shown = ", ".join(f"{v:.2f}" for v in values)
                print(
                    f"{name}: median enqueue-to-start {statistics.median(values):.2f} ms "
                    f"(per round: {shown}; {jobs} jobs each)"
                )
        finally:
            cluster.stop()
            server.stop()


if __name__ == "__main__":
    given = [int(a) for a in sys.argv[1:3]]
    jobs, rounds = given + [60, 3][len(given) :]
    main(jobs, rounds)
