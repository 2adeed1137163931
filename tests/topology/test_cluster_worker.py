"""The in-process worker on a three-master Redis Cluster: the worker test suite run again
there, and one worker draining queues whose slots are on three different masters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis

import tests.worker.test_worker
from tests.engine.invariants import check_queue
from tests.topology.on_cluster import client, r, redis_url, reuse
from tests.topology.rediscluster import RedisCluster, key_slot, queue_on_slot_range
from tests.worker.conftest import WorkerFactory, make_worker, wait_for
from worker_runtime import Client, JobSpec
from worker_runtime.engine import reads
from worker_runtime.handlers import build_handler
from worker_runtime.worker.execution import JobContext

# The fixtures, for the reused tests.
__all__ = ["client", "make_worker", "r", "redis_url"]

reuse(globals(), tests.worker.test_worker)

#: One queue on each master of a fresh three-master cluster.
SPREAD = [queue_on_slot_range(i, prefix=f"spread{i}-") for i in range(3)]


async def test_one_worker_drains_queues_on_three_masters(
    client: Client, r: redis.Redis, redis_cluster: RedisCluster, make_worker: WorkerFactory
) -> None:
    masters = {redis_cluster.master_of_slot(key_slot(q)).port for q in SPREAD}
    assert len(masters) == 3, "the queues must land on three different masters"
    done: list[str] = []

    def record(p: Any, ctx: JobContext) -> str:
        done.append(ctx.queue)
        return ctx.queue

    specs = [JobSpec(q, "record", {"n": n}) for n in range(100) for q in SPREAD]
    await client.enqueue_many(specs)
    async with make_worker({"record": build_handler("record", record)}, queues=SPREAD):
        await wait_for(lambda: _true(len(done) == len(specs)), timeout=30)
    for q in SPREAD:
        assert set(check_queue(r, q).values()) == {"completed"}
        assert (await client.stats(q)).completed == 100
    assert sorted(await client.store.queues()) == sorted(SPREAD)


async def test_an_idle_worker_wakes_on_each_master(
    client: Client, make_worker: WorkerFactory
) -> None:
    """An enqueue publishes a wake-up on the queue's master; the worker, idle in its long
    claim wait, must hear it from every master (not only from the one it listens on)."""
    done: list[str] = []

    def record(p: Any, ctx: JobContext) -> None:
        done.append(ctx.queue)

    async with make_worker(
        {"record": build_handler("record", record)}, queues=SPREAD, concurrency=1
    ):
        await asyncio.sleep(0.2)
        for n, q in enumerate(SPREAD):
            await client.enqueue(q, "record")
            await wait_for(_count_is(done, n + 1), timeout=5)
    assert done == SPREAD
    live = await client.store.run(reads.live_workers())
    assert live == []


async def _true(value: bool) -> bool:
    return value


def _count_is(items: list[str], n: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return len(items) == n

    return reached
