"""The worker loop in-process against real Redis: outcomes, leases, cancellation, shutdown."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import aiohttp
import pytest
import redis

from tests.engine.invariants import check_queue
from tests.redis_server import free_port
from tests.worker.conftest import WorkerFactory, wait_for
from worker_runtime import Client, JobSpec, JobState
from worker_runtime.control import PermanentFailure, Retry
from worker_runtime.engine import reads, writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.handlers import Handler, build_handler
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.health import start_health_server


def handlers(**funcs: Any) -> dict[str, Handler]:
    return {name: build_handler(name, f) for name, f in funcs.items()}


async def _state(client: Client, job_id: str) -> JobState | None:
    job = await client.get_job(job_id)
    return job.state if job else None


async def _until_state(client: Client, job_id: str, state: str) -> None:
    async def reached() -> bool:
        return await _state(client, job_id) == state

    await wait_for(reached)


async def test_async_and_sync_handlers_store_results(
    client: Client, make_worker: WorkerFactory, r: redis.Redis
) -> None:
    threads: list[str] = []

    async def add(p: dict[str, int]) -> int:
        return p["a"] + p["b"]

    def mul(p: dict[str, int], ctx: JobContext) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return {"product": p["a"] * p["b"], "attempt": ctx.attempt, "queue": ctx.queue}

    a = await client.enqueue("q", "add", {"a": 2, "b": 3})
    m = await client.enqueue("q", "mul", {"a": 2, "b": 3})
    async with make_worker(handlers(add=add, mul=mul)):
        await _until_state(client, a.id, "completed")
        await _until_state(client, m.id, "completed")
    ja, jm = await client.get_job(a.id), await client.get_job(m.id)
    assert ja is not None and ja.result == 5
    assert jm is not None and jm.result == {"product": 6, "attempt": 1, "queue": "q"}
    assert threads and threads[0].startswith("handler")  # never on the event loop's thread
    check_queue(r, "q")


async def test_retry_permanent_nohandler_and_undecodable(
    client: Client, make_worker: WorkerFactory, r: redis.Redis
) -> None:
    async def later(p: Any) -> None:
        raise Retry(delay=120)

    async def never(p: Any) -> None:
        raise PermanentFailure("bad input")

    retry = await client.enqueue("q", "later")
    perm = await client.enqueue("q", "never")
    orphan = await client.enqueue("q", "unknown_job")
    # A foreign producer wrote a payload that is not JSON.
    k = QueueKeys.of("q")
    r.hset(k.jobs, "raw", '0\n{"n":"later","p":5}\n{not json')
    r.zadd(k.pending, {"raw": 5 * 10**13 + 999})
    r.hset(k.jobs, "rawmeta", "garbage without newlines")  # not even a record
    r.zadd(k.pending, {"rawmeta": 5 * 10**13 + 1000})
    async with make_worker(handlers(later=later, never=never)):
        await _until_state(client, retry.id, "delayed")
        await _until_state(client, perm.id, "dead")
        await _until_state(client, orphan.id, "dead")
        await _until_state(client, "raw", "dead")
        await _until_state(client, "rawmeta", "dead")
    reasons = {i: (await client.get_job(i)).reason for i in (perm.id, orphan.id, "raw")}  # type: ignore[union-attr]
    assert reasons == {perm.id: "PermanentFailure", orphan.id: "NoHandler", "raw": "Undecodable"}
    assert r.zscore(k.dead, "rawmeta") is not None
    assert r.hget(k.reason, "rawmeta") == "Undecodable"
    job = await client.get_job(retry.id)
    assert job is not None and job.due_ms is not None
    assert 100_000 < job.due_ms - job.history[-1].ended_ms <= 120_000


async def test_timeout_fails_attempts_with_backoff_then_dead(
    client: Client, make_worker: WorkerFactory
) -> None:
    await client.configure("q", backoff_base_ms=50, backoff_max_ms=100)

    async def slow(p: Any) -> None:
        await asyncio.sleep(10)

    def slow_sync(p: Any, ctx: JobContext) -> None:
        ctx.cancelled.wait(10)

    a = await client.enqueue("q", "slow", timeout=0.1, max_attempts=3)
    s = await client.enqueue("q", "slow_sync", timeout=0.1, max_attempts=2)
    async with make_worker(handlers(slow=slow, slow_sync=slow_sync), concurrency=2) as worker:
        await _until_state(client, a.id, "dead")
        await _until_state(client, s.id, "dead")
        assert worker.inflight.busy == 0  # slots freed
    job = await client.get_job(a.id)
    assert job is not None and job.reason == "Timeout" and job.attempts == 3
    gaps = [b.started_ms - x.ended_ms for x, b in zip(job.history, job.history[1:], strict=False)]
    assert all(g >= 35 for g in gaps), gaps  # the back-off was applied between attempts
    sync_job = await client.get_job(s.id)
    assert sync_job is not None and sync_job.reason == "Timeout"


async def test_long_job_outlives_its_lease_and_runs_once(
    client: Client, make_worker: WorkerFactory
) -> None:
    runs: list[str] = []

    async def long(p: Any, ctx: JobContext) -> None:
        runs.append(ctx.id)
        await asyncio.sleep(1.5)

    e = await client.enqueue("q", "long")
    async with make_worker(handlers(long=long), lease_ms=500):
        await _until_state(client, e.id, "completed")
    job = await client.get_job(e.id)
    assert runs == [e.id] and job is not None and job.attempts == 1


def _interruptible() -> tuple[asyncio.Event, asyncio.Event, Any]:
    """A handler that runs until cancelled, and events telling it started and was stopped."""
    started, interrupted = asyncio.Event(), asyncio.Event()

    async def wait_forever(p: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            interrupted.set()
            raise

    return started, interrupted, wait_forever


async def test_cancel_running_job_stops_its_handler(
    client: Client, make_worker: WorkerFactory
) -> None:
    started, interrupted, wait_forever = _interruptible()
    e = await client.enqueue("q", "wait_forever")
    async with make_worker(handlers(wait_forever=wait_forever), lease_ms=600):
        await asyncio.wait_for(started.wait(), 5)
        assert await client.cancel(e.id) == "requested"
        await asyncio.wait_for(interrupted.wait(), 5)
        await _until_state(client, e.id, "cancelled")


async def test_lost_lease_stops_the_local_run_without_reporting(
    client: Client, make_worker: WorkerFactory, r: redis.Redis
) -> None:
    started, interrupted, wait_forever = _interruptible()
    e = await client.enqueue("q", "wait_forever")
    async with make_worker(handlers(wait_forever=wait_forever), lease_ms=600) as worker:
        await asyncio.wait_for(started.wait(), 5)
        # Another worker took the job over (its lease now carries a different token).
        k = QueueKeys.of("q")
        lease = r.hget(k.lease, e.id)
        assert isinstance(lease, str)
        r.hset(k.lease, e.id, "999999|" + lease.split("|", 1)[1])
        await asyncio.wait_for(interrupted.wait(), 5)
        assert (("q", e.id)) not in worker.inflight
    assert await _state(client, e.id) == "running"  # untouched: the new holder owns it


async def test_graceful_stop_finishes_short_jobs_and_releases_long_ones(
    client: Client, make_worker: WorkerFactory
) -> None:
    async def short(p: Any) -> None:
        await asyncio.sleep(0.2)

    async def long(p: Any) -> None:
        await asyncio.sleep(60)

    shorts = await client.enqueue_many([JobSpec("q", "short")] * 5)
    longs = await client.enqueue_many([JobSpec("q", "long")] * 5)
    async with make_worker(handlers(short=short, long=long), concurrency=10, grace_s=1.0) as w:
        await wait_for(lambda: _true(w.inflight.busy == 10))
        w.stop()
    for s in shorts:
        assert await _state(client, s.id) == "completed"
    for job_id in (x.id for x in longs):
        job = await client.get_job(job_id)
        assert job is not None and job.state == "pending" and job.attempts == 0


async def _true(value: bool) -> bool:
    return value


async def test_burst_mode_exits_when_queues_are_empty(client: Client) -> None:
    from worker_runtime.worker.loop import Worker

    async def noop(p: Any) -> None:
        return None

    await client.enqueue_many([JobSpec("a", "noop")] * 300 + [JobSpec("b", "noop")] * 200)
    worker = Worker(client.store, ["a", "b"], handlers(noop=noop), concurrency=20, burst=True)
    assert await asyncio.wait_for(worker.run(), 30) == 0
    assert (await client.stats("a")).completed == 300
    assert (await client.stats("b")).completed == 200


async def test_max_jobs_exits_after_that_many_run_to_their_end(client: Client) -> None:
    from worker_runtime.worker.loop import Worker

    async def slow(p: Any) -> None:
        await asyncio.sleep(0.05)  # still running when the count is reached

    await client.enqueue_many([JobSpec("a", "slow")] * 50)
    worker = Worker(client.store, ["a"], handlers(slow=slow), concurrency=5, max_jobs=17)
    assert await asyncio.wait_for(worker.run(), 30) == 0
    stats = await client.stats("a")
    assert (stats.completed, stats.running, stats.pending) == (17, 0, 33)
    pending = await client.list_jobs("a", "pending", limit=50)
    assert all(job.attempts == 0 and not job.history for job in pending)  # none handed back


async def test_queues_are_served_in_strict_order(
    client: Client, make_worker: WorkerFactory
) -> None:
    order: list[str] = []

    def record(p: Any, ctx: JobContext) -> None:
        order.append(ctx.queue)

    await client.enqueue_many([JobSpec("low", "record")] * 5 + [JobSpec("high", "record")] * 5)
    async with make_worker(handlers(record=record), queues=["high", "low"], concurrency=1):
        await wait_for(lambda: _true(len(order) == 10))
    assert order == ["high"] * 5 + ["low"] * 5


async def test_delayed_job_wakes_an_idle_worker(client: Client, make_worker: WorkerFactory) -> None:
    started: dict[str, float] = {}

    def record(p: Any, ctx: JobContext) -> None:
        started[ctx.id] = time.time()

    async with make_worker(handlers(record=record)):
        await asyncio.sleep(0.1)  # the worker is idle, waiting
        e = await client.enqueue("q", "record", delay=0.3)
        queued_at = time.time()
        await _until_state(client, e.id, "completed")
    assert started[e.id] - queued_at >= 0.29  # never before its due time


async def test_worker_registry_and_health_endpoints(
    client: Client, make_worker: WorkerFactory
) -> None:
    async with make_worker({}, name="w-test", lease_ms=300) as worker:

        async def registered() -> bool:
            return "w-test" in await client.store.run(reads.live_workers())

        await wait_for(registered)
        (desc,) = await client.store.run(reads.worker_descriptions(["w-test"]))
        assert desc["queues"] == ["q"] and desc["concurrency"] == 10
        port = free_port()
        runner = await start_health_server(
            port, worker.metrics.registry, lambda: worker.ready, host="127.0.0.1"
        )
        try:
            async with aiohttp.ClientSession() as http:
                base = f"http://127.0.0.1:{port}"
                assert (await http.get(f"{base}/healthz")).status == 200
                assert (await http.get(f"{base}/readyz")).status == 200
                worker.ready = False
                assert (await http.get(f"{base}/readyz")).status == 503
                text = await (await http.get(f"{base}/metrics")).text()
                assert "blackroad_job_duration_seconds" in text
                assert "blackroad_worker_jobs_processing" in text
        finally:
            await runner.cleanup()
    assert "w-test" not in await client.store.run(reads.live_workers())


async def test_more_in_flight_than_one_script_call_can_carry(
    client: Client, make_worker: WorkerFactory, r: redis.Redis
) -> None:
    """Claims, heartbeats, completions and releases are split into calls of at most
    MAX_BATCH jobs: Redis's Lua cannot unpack much more, and a half-run claim would
    leave jobs in no state."""
    release = asyncio.Event()

    async def hold(p: Any) -> None:
        await release.wait()

    n = 2 * writes.MAX_BATCH + 500
    ids = [e.id for e in await client.enqueue_many([JobSpec("q", "hold")] * n)]
    # The lease leaves room for a loaded machine: a lease that ran out here would be a
    # stalled event loop, not a batching defect.
    async with make_worker(handlers(hold=hold), concurrency=n, lease_ms=3000) as worker:
        await wait_for(lambda: _true(worker.inflight.busy == n), timeout=30)
        await asyncio.sleep(3.5)  # past a whole lease: only heartbeats kept them running
        assert len(check_queue(r, "q")) == n
        assert (await client.stats("q")).running == n
        release.set()
        await wait_for(lambda: _completed(client, n), timeout=30)
    assert set(check_queue(r, "q").values()) == {"completed"} and len(ids) == n


async def _completed(client: Client, n: int) -> bool:
    return (await client.stats("q")).completed == n


async def test_process_mode_kills_a_hung_sync_handler(
    client: Client, make_worker: WorkerFactory
) -> None:
    """In process mode a sync handler past its timeout is killed, not left running."""
    import os

    pids: list[int] = []

    def hang(p: Any) -> None:
        time.sleep(60)

    def whoami(p: Any, ctx: JobContext) -> dict[str, Any]:
        return {"pid": os.getpid(), "attempt": ctx.attempt}

    def refuse(p: Any) -> None:
        raise PermanentFailure("no")

    def boom(p: Any) -> None:
        raise KeyError("missing")

    await client.configure("q", lease_ms=1000)  # recovered jobs come back within 0.5 s
    hung = await client.enqueue("q", "hang", timeout=0.3, max_attempts=1)
    who = await client.enqueue("q", "whoami")
    no = await client.enqueue("q", "refuse")
    bad = await client.enqueue("q", "boom", max_attempts=1)
    h = handlers(hang=hang, whoami=whoami, refuse=refuse, boom=boom)
    async with make_worker(h, concurrency=4, processes=True):
        for job_id in (hung.id, no.id, bad.id):
            await _until_state(client, job_id, "dead")
        await _until_state(client, who.id, "completed")
    results = {i: await client.get_job(i) for i in (hung.id, who.id, no.id, bad.id)}
    assert results[hung.id].reason == "Timeout"  # type: ignore[union-attr]
    assert results[no.id].reason == "PermanentFailure"  # type: ignore[union-attr]
    assert results[bad.id].reason == "KeyError"  # type: ignore[union-attr]
    assert "KeyError" in (results[bad.id].history[-1].error or "")  # type: ignore[union-attr]
    result = results[who.id].result  # type: ignore[union-attr]
    pids.append(result["pid"])
    assert result["attempt"] == 1 and pids[0] != os.getpid()


async def test_a_background_loop_that_fails_is_logged_once_and_restarted(
    client: Client,
    make_worker: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from worker_runtime.worker.upkeep import Upkeep

    original = Upkeep.recover_loop
    runs = 0

    async def recover_once_broken(self: Upkeep) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("a bug in the recovery loop")
        await original(self)

    monkeypatch.setattr(Upkeep, "recover_loop", recover_once_broken)
    # A job whose worker is gone: only the recovery loop can give it back.
    await client.configure("q", lease_ms=1000)  # recovered jobs come back within 0.5 s
    await client.enqueue("q", "echo", 1)
    lost = (await client.store.run(writes.claim("q", "gone", 1, 200))).jobs[0]
    with caplog.at_level(logging.INFO, logger="blackroad.worker"):
        async with make_worker(handlers(echo=lambda p: p)):
            await _until_state(client, lost.id, "completed")
    assert runs == 2
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1, [rec.getMessage() for rec in errors]
    assert errors[0].exc_info is not None
    assert "a bug in the recovery loop" in str(errors[0].exc_info[1])


async def test_an_outcome_that_cannot_be_reported_is_left_to_recovery(
    client: Client,
    make_worker: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from worker_runtime.worker.running import JobRunner

    original = JobRunner._report_failure
    reports = 0

    async def report_once_broken(self: JobRunner, held: Any, outcome: Any) -> None:
        nonlocal reports
        reports += 1
        if reports == 1:
            raise RuntimeError("a bug while reporting")
        await original(self, held, outcome)

    monkeypatch.setattr(JobRunner, "_report_failure", report_once_broken)
    attempts = 0

    def flaky(payload: Any) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ValueError("first attempt fails")
        return "ok"

    await client.configure("q", lease_ms=1000, max_attempts=5)
    job = await client.enqueue("q", "flaky", None)
    with caplog.at_level(logging.INFO, logger="blackroad.worker"):
        async with make_worker(handlers(flaky=flaky)):
            # Not held forever: its lease runs out, recovery hands it out, it succeeds.
            await _until_state(client, job.id, "completed")
    assert attempts == 2
    assert any(
        "a bug while reporting" in str(rec.exc_info and rec.exc_info[1]) for rec in caplog.records
    )
