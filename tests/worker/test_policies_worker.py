"""Worker-side policies: batch handlers, progress, weighted multi-queue claiming, caps."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import redis

from tests.engine.invariants import check_queue
from tests.worker.conftest import WorkerFactory, wait_for
from worker_runtime import Client, JobSpec
from worker_runtime.control import PermanentFailure, Retry
from worker_runtime.engine import reads
from worker_runtime.handlers import build_handler
from worker_runtime.worker.execution import BatchItem, JobContext


async def _true(value: bool) -> bool:
    return value


async def test_batch_handler_with_partial_failure(
    client: Client, make_worker: WorkerFactory, r: redis.Redis
) -> None:
    sizes: list[int] = []

    def charge(items: list[BatchItem]) -> list[Any]:
        sizes.append(len(items))
        out: list[Any] = []
        for item in items:
            n = item.payload["n"]
            if n % 10 == 3:
                out.append(PermanentFailure(f"card {n} declined"))
            elif n % 10 == 7 and item.ctx.attempt == 1:
                out.append(Retry(delay=0))
            else:
                out.append({"charged": n})
        return out

    ids = [
        e.id
        for e in await client.enqueue_many([JobSpec("q", "charge", {"n": i}) for i in range(50)])
    ]
    h = {"charge": build_handler("charge", charge, batch=20, batch_wait=0.2)}
    async with make_worker(h, concurrency=50):

        async def settled() -> bool:
            s = await client.stats("q")
            return s.completed + s.dead == 50

        await wait_for(settled)
    jobs = {j.id: j for j in await client.store.run(reads.jobs_info("q", ids))}
    for i, job_id in enumerate(ids):
        job = jobs[job_id]
        if i % 10 == 3:
            assert (job.state, job.reason) == ("dead", "PermanentFailure")
        elif i % 10 == 7:
            assert job.state == "completed" and job.attempts == 2  # retried alone
        else:
            assert job.state == "completed" and job.result == {"charged": i}
    assert max(sizes) == 20 and sum(sizes) == 55
    check_queue(r, "q")


async def test_progress_is_visible_in_job_info(client: Client, make_worker: WorkerFactory) -> None:
    release = asyncio.Event()

    async def long(p: Any, ctx: JobContext) -> None:
        ctx.progress(40, "halfway there")
        await release.wait()

    def sync_long(p: Any, ctx: JobContext) -> None:
        ctx.progress(75, "from a thread")
        ctx.cancelled.wait(5)

    a = await client.enqueue("q", "long")
    b = await client.enqueue("q", "sync_long")
    h = {"long": build_handler("long", long), "sync_long": build_handler("sync_long", sync_long)}
    async with make_worker(h) as worker:

        async def reported() -> bool:
            ja, jb = await client.get_job(a.id), await client.get_job(b.id)
            return bool(ja and ja.progress and jb and jb.progress)

        await wait_for(reported)
        ja, jb = await client.get_job(a.id), await client.get_job(b.id)
        assert ja is not None and ja.progress is not None and jb is not None and jb.progress
        assert (ja.progress["pct"], ja.progress["msg"]) == (40, "halfway there")
        assert jb.progress["pct"] == 75
        release.set()
        for held in worker.inflight.jobs():
            held.ctx.cancelled.set()


async def test_weighted_queues_share_claims(client: Client, make_worker: WorkerFactory) -> None:
    seen: list[str] = []

    async def record(p: Any, ctx: JobContext) -> None:
        seen.append(ctx.queue)
        await asyncio.sleep(0.002)

    await client.enqueue_many([JobSpec("a", "record")] * 400 + [JobSpec("b", "record")] * 400)
    h = {"record": build_handler("record", record)}
    async with make_worker(h, queues=["a", "b"], concurrency=4, queue_weights={"a": 3, "b": 1}):
        await wait_for(lambda: _true(len(seen) >= 400), timeout=30)
    first = Counter(seen[:400])
    assert 0.65 <= first["a"] / 400 <= 0.85, first  # 3:1 while both have work


async def test_max_running_is_never_exceeded_across_workers(
    client: Client, make_worker: WorkerFactory, r: redis.Redis
) -> None:
    await client.configure("q", max_running=3, keep_completed=1000)

    async def work(p: Any) -> None:
        await asyncio.sleep(0.01)

    ids = [e.id for e in await client.enqueue_many([JobSpec("q", "work")] * 120)]
    h = {"work": build_handler("work", work)}
    async with make_worker(h, concurrency=5), make_worker(h, concurrency=5):

        async def done() -> bool:
            return (await client.stats("q")).completed == 120

        await wait_for(done, timeout=30)
    jobs = await client.store.run(reads.jobs_info("q", ids))
    events = sorted(
        [(j.history[-1].started_ms, 1) for j in jobs] + [(j.history[-1].ended_ms, -1) for j in jobs]
    )
    running = peak = 0
    for _, delta in events:  # ends sort before starts at the same ms
        running += delta
        peak = max(peak, running)
    assert peak <= 3


def test_parse_queues_strict_and_weighted() -> None:
    import pytest

    from worker_runtime.engine.validation import parse_queues
    from worker_runtime.errors import InvalidArgumentError

    assert parse_queues("a, b,c") == (["a", "b", "c"], None)
    assert parse_queues("a:3,b:1.5") == (["a", "b"], {"a": 3.0, "b": 1.5})
    assert parse_queues("ns:q:2") == (["ns:q"], {"ns:q": 2.0})
    for bad in ("", "a:3,b", "a,a", "a:0", "a{b}"):
        with pytest.raises(InvalidArgumentError, match="queue"):
            parse_queues(bad)
