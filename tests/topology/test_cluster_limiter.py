"""A rate limiter shared by queues on different masters of a Redis Cluster: permits taken
on the limiter's slot, then a claim of at most that many on each queue's slot
(``engine.limits``). Two workers drain two queues on two masters under one limiter of
20 starts per second (its slot on the third master): no window of a second ever holds
more than 20 starts, counted on the Redis clock at which each claim leased its job."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.topology.on_cluster import client, r, redis_url
from tests.topology.rediscluster import SLOT_RANGES, key_slot, queue_on_slot_range
from tests.worker.conftest import wait_for
from worker_runtime.client import Client
from worker_runtime.engine import limits
from worker_runtime.engine.keys import limiter_key
from worker_runtime.handlers import build_handler
from worker_runtime.models import ClaimedJob, JobSpec
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.loop import Worker

__all__ = ["client", "r", "redis_url"]

QUEUES = [queue_on_slot_range(i, prefix=f"lim{i}-") for i in range(2)]
LIMITER = queue_on_slot_range(2, prefix="shared-")
LIMIT, PERIOD_MS, JOBS = 20, 1000, 140


class Recorded(Worker):
    """A worker that notes when (Redis clock) each claim leased each of its jobs."""

    started: dict[str, int]

    def _start(self, job: ClaimedJob) -> None:
        # A job enqueued ready waits from its enqueue: enqueue + waited = the claim's time.
        self.started[job.id] = job.enqueued_ms + job.waited_ms
        super()._start(job)


def test_the_limiter_and_the_queues_are_on_three_masters() -> None:
    slots = [key_slot(q) for q in QUEUES] + [key_slot(LIMITER)]
    ranges = {next(i for i, (a, b) in enumerate(SLOT_RANGES) if a <= s <= b) for s in slots}
    assert ranges == {0, 1, 2}
    assert limiter_key(LIMITER) == f"brq:limiter:{{{LIMITER}}}"


async def test_a_limiter_shared_across_masters_never_allows_more_than_its_limit(
    client: Client,
) -> None:
    assert limits.split_slots(client.store, QUEUES[0], LIMITER)
    await client.define_limiter(LIMITER, LIMIT, PERIOD_MS)
    for q in QUEUES:
        await client.configure(q, rate_limiter=LIMITER)
    await client.enqueue_many([JobSpec(QUEUES[n % 2], "j", {"n": n}) for n in range(JOBS)])
    done: set[str] = set()

    async def work(payload: Any, ctx: JobContext) -> None:
        done.add(ctx.id)

    started: dict[str, int] = {}
    workers = []
    for _ in range(2):
        worker = Recorded(client.store, QUEUES, {"j": build_handler("j", work)}, concurrency=10)
        worker.started = started
        workers.append(worker)
    tasks = [asyncio.create_task(w.run()) for w in workers]
    began = time.monotonic()
    try:

        async def drained() -> bool:
            return len(done) == JOBS

        await wait_for(drained, timeout=120)
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*(asyncio.wait_for(t, 30) for t in tasks))
    took = time.monotonic() - began
    times = sorted(started.values())
    busiest = max(sum(1 for t in times if s <= t < s + PERIOD_MS) for s in times)
    print(
        f"shared limiter across masters: {JOBS} jobs in {took:.1f} s "
        f"({JOBS / took:.1f}/s), at most {busiest} starts in any {PERIOD_MS} ms (limit {LIMIT})"
    )
    assert len(started) == JOBS
    assert busiest <= LIMIT
