"""Redis Cluster failover: three masters with a replica each; a master is SIGKILLed while a
worker drains jobs on queues of every master. Every job reaches one terminal state; an
acknowledged enqueue the failover loses (asynchronous replication) is counted and printed."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import redis

from tests.engine.invariants import check_queue
from tests.topology.rediscluster import RedisCluster, key_slot, queue_on_slot_range
from tests.worker.conftest import wait_for
from worker_runtime import Client, JobSpec
from worker_runtime.engine.connection import connect_sync
from worker_runtime.errors import RedisUnavailableError
from worker_runtime.handlers import build_handler
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.loop import Worker

JOBS = 5000
#: The worker's concurrency: at most this many jobs are in flight when the master dies.
CONCURRENCY = 20
QUEUES = [queue_on_slot_range(i, prefix=f"fo{i}-") for i in range(3)]


async def test_sigkill_a_master_while_5000_jobs_drain(replicated_cluster: RedisCluster) -> None:
    runs: dict[str, int] = {}

    async def work(payload: Any, ctx: JobContext) -> None:
        runs[ctx.id] = runs.get(ctx.id, 0) + 1
        await asyncio.sleep(0.001)

    async with Client.from_url(replicated_cluster.url) as client:
        specs = [JobSpec(QUEUES[n % 3], "work", {"n": n}) for n in range(JOBS)]
        acked: set[str] = set()
        for start in range(0, JOBS, 500):
            acked.update(e.id for e in await client.enqueue_many(specs[start : start + 500]))
        worker = Worker(
            client.store, QUEUES, {"work": build_handler("work", work)}, concurrency=CONCURRENCY
        )
        task = asyncio.create_task(worker.run())
        try:
            await wait_for(lambda: _true(len(runs) >= JOBS // 5), timeout=60)
            victim = replicated_cluster.master_of_slot(key_slot(QUEUES[0]))
            victim.kill()
            killed_at, done_at_kill = time.monotonic(), len(runs)

            async def settled() -> bool:
                return await _unfinished(client) == 0

            await wait_for(settled, timeout=180)
            drained_s = time.monotonic() - killed_at
        finally:
            worker.stop()
            await asyncio.wait_for(task, 60)
    states: dict[str, str] = {}
    conn = connect_sync(replicated_cluster.url)
    try:
        for q in QUEUES:
            states.update(check_queue(cast(redis.Redis, conn), q))
    finally:
        conn.close()
    lost = acked - set(states)
    assert set(states.values()) == {"completed"}, "every job that exists is completed"
    duplicates = sum(n - 1 for n in runs.values() if n > 1)
    print(
        f"failover: master SIGKILLed after {done_at_kill} of {JOBS} jobs started; the rest "
        f"drained {drained_s:.1f} s later; {len(lost)} acknowledged enqueues lost, "
        f"{duplicates} jobs ran twice"
    )
    assert duplicates <= CONCURRENCY, "only jobs in flight at the kill may run twice"


async def _unfinished(client: Client) -> int:
    """Jobs not yet terminal on every queue; -1 while a queue's master cannot answer."""
    total = 0
    try:
        for q in QUEUES:
            s = await client.stats(q)
            total += s.pending + s.delayed + s.running
    except (RedisUnavailableError, redis.RedisError, OSError):
        return -1
    return total


async def _true(value: bool) -> bool:
    return value
