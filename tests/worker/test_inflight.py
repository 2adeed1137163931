"""The in-flight registry on its own: slots, stop reasons, deadlines (no Redis)."""

from __future__ import annotations

import asyncio

from worker_runtime.models import ClaimedJob
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.inflight import PRUNE_SLACK, Held, InFlight, leases, queue_of


def _job(job_id: str, queue: str = "q") -> ClaimedJob:
    return ClaimedJob(job_id, queue, "j", f"tok-{job_id}", 1, 0, 0, None, None, "null")


def _hold(inflight: InFlight, job_id: str, queue: str = "q") -> Held:
    job = _job(job_id, queue)
    return inflight.hold(job, JobContext(job.id, job.queue, job.name, 1, None))


async def _forever() -> None:
    await asyncio.sleep(60)


async def test_a_job_takes_a_slot_until_finished_and_stays_held_until_forgotten() -> None:
    inflight = InFlight()
    held = _hold(inflight, "1")
    assert inflight.busy == 1 and len(inflight) == 1 and ("q", "1") in inflight
    assert inflight.get("q", "1") is held and inflight.jobs() == [held]
    inflight.finished()
    assert inflight.busy == 0 and ("q", "1") in inflight  # its outcome is not written yet
    inflight.forget(held)
    assert len(inflight) == 0 and inflight.get("q", "1") is None
    inflight.forget(held)  # twice is harmless


async def test_waiting_for_a_slot_ends_when_one_frees() -> None:
    inflight = InFlight()
    _hold(inflight, "1")
    waiter = asyncio.create_task(inflight.wait_for_slot())
    await asyncio.sleep(0)
    assert not waiter.done()
    inflight.finished()
    await asyncio.wait_for(waiter, 1)


async def test_lost_job_is_cancelled_and_forgotten_cancelled_one_is_kept() -> None:
    inflight = InFlight()
    lost, cancelled = _hold(inflight, "1"), _hold(inflight, "2")
    for h in (lost, cancelled):
        h.task = asyncio.create_task(_forever())
    inflight.stop(lost, "lost")
    inflight.stop(cancelled, "cancelled")
    await asyncio.gather(*(h.task for h in (lost, cancelled) if h.task), return_exceptions=True)
    assert lost.stop_reason == "lost" and lost.ctx.cancelled.is_set()
    assert lost.task is not None and lost.task.cancelled()
    assert ("q", "1") not in inflight  # another attempt owns it now
    assert cancelled.stop_reason == "cancelled" and ("q", "2") in inflight  # reported later


async def test_a_batch_task_is_only_cancelled_by_shutdown() -> None:
    inflight = InFlight()
    a, b = _hold(inflight, "1"), _hold(inflight, "2")
    shared = asyncio.create_task(_forever())
    for h in (a, b):
        h.task, h.batched = shared, True
    inflight.stop(a, "cancelled")
    await asyncio.sleep(0)
    assert a.ctx.cancelled.is_set() and not shared.done()
    inflight.stop(b, "shutdown")
    await asyncio.gather(shared, return_exceptions=True)
    assert shared.cancelled()


async def test_expired_deadlines_stop_running_jobs_with_timeout_only() -> None:
    inflight = InFlight()
    due, later, stopped = _hold(inflight, "1"), _hold(inflight, "2"), _hold(inflight, "3")
    for h in (due, later, stopped):
        h.task = asyncio.create_task(_forever())
        inflight.watch_deadline(h, 10.0 if h is later else 1.0)
    inflight.stop(stopped, "cancelled")
    inflight.expire(5.0)
    assert due.stop_reason == "timeout" and due.ctx.cancelled.is_set()
    assert later.stop_reason is None and stopped.stop_reason == "cancelled"  # not overwritten
    inflight.expire(10.0)
    assert later.stop_reason == "timeout"
    tasks = [h.task for h in (due, later, stopped) if h.task is not None]
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_finished_jobs_leave_the_deadline_heap_long_before_their_deadline() -> None:
    """A busy worker finishes thousands of jobs within one timeout; the heap keeps only a
    bounded number of them (their tasks and contexts), not all."""
    inflight = InFlight()
    running = _hold(inflight, "running")
    running.task = asyncio.create_task(_forever())
    inflight.watch_deadline(running, 3600.0)

    async def done() -> None:
        return None

    for i in range(5 * PRUNE_SLACK):
        held = _hold(inflight, str(i))
        held.task = asyncio.create_task(done())
        inflight.watch_deadline(held, 3600.0)
        await held.task
        inflight.finished()
        inflight.forget(held)
    assert len(inflight._deadlines) <= 2 * inflight.busy + PRUNE_SLACK + 1
    assert any(e[2] is running for e in inflight._deadlines)  # the running one stays watched
    running.task.cancel()
    await asyncio.gather(running.task, return_exceptions=True)


def test_leases_and_queue_of_feed_the_per_queue_calls() -> None:
    inflight = InFlight()
    a, b = _hold(inflight, "1", "x"), _hold(inflight, "2", "y")
    assert [queue_of(h) for h in (a, b)] == ["x", "y"]
    assert leases([a, b]) == [("1", "tok-1"), ("2", "tok-2")]
