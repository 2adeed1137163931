"""The ack batcher: successes ride along with the next claim while the claim loop claims
(with ``loop.RIDE_ACKS``), and are written on their own once it sleeps; none is lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from tests.engine.invariants import check_queue
from tests.worker.conftest import WorkerFactory, wait_for
from worker_runtime import Client, JobSpec, JobState
from worker_runtime.engine import writes
from worker_runtime.handlers import build_handler
from worker_runtime.worker import loop
from worker_runtime.worker.acks import AckBatcher, AckWrite
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.inflight import InFlight
from worker_runtime.worker.metrics import NoMetrics


async def _state(client: Client, job_id: str) -> JobState | None:
    job = await client.get_job(job_id)
    return job.state if job else None


async def test_while_riding_successes_wait_for_the_claim_then_are_written_alone(
    client: Client,
) -> None:
    e = await client.enqueue("q", "j")
    (job,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    inflight = InFlight()
    held = inflight.hold(job, JobContext(job.id, job.queue, job.name, 1, None))
    inflight.finished()
    acks = AckBatcher(client.store, "w", inflight, NoMetrics())
    acks.ride(True)
    run = asyncio.create_task(acks.run())
    try:
        acks.add(held, "")
        for _ in range(5):
            await asyncio.sleep(0)
        # The claim loop would take it with its next claim; nobody wrote it meanwhile.
        assert len(acks) == 1 and await _state(client, e.id) == JobState.RUNNING
        acks.ride(False)

        async def written() -> bool:
            # Redis stores the completion before the writer has read its reply and let go
            # of the job: wait for both (checking them in turn raced under load).
            done = await _state(client, e.id) == JobState.COMPLETED
            return done and len(acks) == 0 and len(inflight) == 0

        await wait_for(written)
    finally:
        acks.close()
        await asyncio.wait_for(run, 5)


async def test_a_refused_write_keeps_its_successes_first_in_line(client: Client) -> None:
    await client.enqueue_many([JobSpec("q", "j"), JobSpec("q", "j")])
    jobs = (await client.store.run(writes.claim("q", "w", 2))).jobs
    inflight = InFlight()
    held = [inflight.hold(j, JobContext(j.id, j.queue, j.name, 1, None)) for j in jobs]
    acks = AckBatcher(client.store, "w", inflight, NoMetrics())
    acks.add(held[0], "")
    write = acks.take()
    assert isinstance(write, AckWrite) and acks.take() is None
    acks.add(held[1], "")
    acks.refused(write)
    again = acks.take()
    assert again is not None and [h for h, _ in again.batch] == held
    acks.stored(again, await client.store.run_many(again.calls))
    assert len(inflight) == 0
    for j in jobs:
        assert await _state(client, j.id) == JobState.COMPLETED


async def test_at_backlog_successes_ride_with_claims_and_every_job_completes(
    client: Client, make_worker: WorkerFactory, r: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "RIDE_ACKS", True)
    n = 300
    await client.enqueue_many([JobSpec("q", "noop", {"i": i}) for i in range(n)])
    alone: list[int] = []
    flush = AckBatcher.flush

    async def counted_flush(self: AckBatcher) -> None:
        alone.append(len(self))
        await flush(self)

    monkeypatch.setattr(AckBatcher, "flush", counted_flush)

    async def noop(payload: Any) -> None:
        return None

    async with make_worker({"noop": build_handler("noop", noop)}, concurrency=5) as worker:

        async def drained() -> bool:
            return (await client.stats("q")).completed == n

        await wait_for(drained, timeout=60)
        await wait_for(lambda: _true(len(worker.acks) == 0))
    # Most went with a claim: the batcher alone wrote fewer than all of them.
    assert sum(alone) < n
    check_queue(r, "q")


async def _true(value: bool) -> bool:
    return value
