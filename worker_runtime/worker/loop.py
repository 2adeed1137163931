"""The worker: claims jobs in batches and hands them to the job runner; starts the upkeep
loops and the ack batcher, and shuts down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from worker_runtime.engine import limits, reads, writes
from worker_runtime.engine.chunking import chunk_by_queue
from worker_runtime.engine.connection import SOCKET_TIMEOUT
from worker_runtime.engine.operation import Op
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.engine.writes import ClaimResult
from worker_runtime.handlers import Handler
from worker_runtime.models import ClaimedJob
from worker_runtime.worker.acks import AckBatcher
from worker_runtime.worker.claims import ClaimGuard, ClaimOrder
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.health import Watchdog
from worker_runtime.worker.inflight import Held, InFlight, leases, queue_of
from worker_runtime.worker.metrics import NoMetrics, WorkerMetrics
from worker_runtime.worker.running import JobRunner
from worker_runtime.worker.settings import QueueSettings
from worker_runtime.worker.supervise import supervise
from worker_runtime.worker.upkeep import Upkeep

log = logging.getLogger("blackroad.worker")

#: Longest idle wait without a wake-up message, a safety net for a lost message.
IDLE_WAIT_S = 2.0
#: Longest wait between claims while Redis cannot serve them.
CLAIM_RETRY_MAX_S = 1.0
#: Whether pending successes go in the next claim's round trip (``AsyncStore.run_many``)
#: rather than in a write of their own beside it. Off while ``run_many`` is redis-py's
#: script pipeline, which sends SCRIPT EXISTS first (a round trip of its own): riding
#: measured 16% more worker CPU per job than two EVALSHAs in parallel. Against a
#: pipeline of plain EVALSHAs it measured about 9% less: turn it on with that store.
RIDE_ACKS = False


class Worker:
    def __init__(
        self,
        store: AsyncStore,
        queues: list[str],
        handlers: dict[str, Handler],
        *,
        concurrency: int = 10,
        name: str | None = None,
        grace_s: float = 25.0,
        burst: bool = False,
        lease_ms: int = -1,
        metrics: NoMetrics | None = None,
        queue_weights: dict[str, float] | None = None,
        processes: bool = False,
        max_jobs: int | None = None,
    ) -> None:
        self.store = store
        self.queues = queues
        self.handlers = handlers
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.grace_s = grace_s
        self.burst = burst
        #: Exit after claiming this many jobs (and finishing them): ``--max-jobs``.
        self.max_jobs = max_jobs
        self._claimed_total = 0
        self.lease_override = lease_ms
        #: Prometheus collectors unless told otherwise (``NoMetrics()``: none, at no cost).
        self.metrics = WorkerMetrics() if metrics is None else metrics
        self.inflight = InFlight()
        self.metrics.watch(self.name, lambda: self.inflight.busy, concurrency)
        self._ready = False
        #: Not ready once no round trip to Redis succeeded for the socket timeout.
        self.watchdog = Watchdog(SOCKET_TIMEOUT)
        #: Claim deadlines on the Redis clock; hands back what a lost reply leased.
        self.claims = ClaimGuard(store, self.name)
        self.stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.settings = QueueSettings(queues, lease_ms)
        self.acks = AckBatcher(store, self.name, self.inflight, self.metrics)
        #: Successes ride along with claims (RIDE_ACKS). Never on a cluster: there ``run_many``
        #: sends each op on its own connection, so a completion could reach Redis after it.
        self._ride = RIDE_ACKS and not store.cluster
        self._upkeep = Upkeep(
            store=store,
            worker_name=self.name,
            queues=queues,
            inflight=self.inflight,
            settings=self.settings,
            wake=self._wake,
            describe=self.describe,
            on_beat=self._on_beat,
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="handler")
        self._background: list[asyncio.Task[None]] = []
        #: Weighted multi-queue claiming (``--queues a:3,b:1``); None: strict order.
        self.queue_weights = queue_weights
        self._order = ClaimOrder(queues, queue_weights)
        self.runner = JobRunner(
            store=store,
            handlers=handlers,
            inflight=self.inflight,
            acks=self.acks,
            settings=self.settings,
            metrics=self.metrics,
            pool=self._pool,
            processes=processes,
        )

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Serving: the last claim and heartbeat worked and Redis answered lately."""
        return self._ready and self.watchdog.fresh()

    @ready.setter
    def ready(self, value: bool) -> None:
        self._ready = value

    async def run(self) -> int:
        """Runs until stopped (or, in burst mode, until there is nothing to do); returns 0."""
        self.runner.loop = asyncio.get_running_loop()
        u = self._upkeep
        # Before the first claim: a claim made with the default config would not know the
        # queue's shared rate limiter (its name is in the config) and ignore it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(u.refresh_configs(), SOCKET_TIMEOUT)
        loops = (
            u.listen,
            u.heartbeat_loop,
            u.recover_loop,
            self.acks.run,
            u.refresh_loop,
            u.timeout_loop,
            self._watch,
        )
        self._background = [
            asyncio.create_task(supervise(loop.__name__, loop, u.is_closing), name=loop.__name__)
            for loop in loops
        ]
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            await self._stop_background()
            with contextlib.suppress(*REDIS_DOWN):
                await self.store.run(writes.worker_beat(self.name, None, 1))
            self._pool.shutdown(wait=False, cancel_futures=True)
        return 0

    async def _stop_background(self) -> None:
        self._upkeep.close()
        self.acks.close()
        for _ in range(3):
            pending = [t for t in self._background if not t.done()]
            if not pending:
                return
            # redis-py can swallow a cancellation inside a command; the loops also check
            # their closing flag, and a second cancel() reaches them at their next await.
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=2)
        log.warning("background tasks did not stop: %s", [t.get_name() for t in pending])

    def stop(self) -> None:
        """Stop claiming now; running jobs get the grace period to finish."""
        self.stopping.set()
        self._wake.set()
        self.inflight.wake_waiters()

    def _on_beat(self, redis_ok: bool) -> None:
        self.ready = redis_ok and not self.stopping.is_set()
        if redis_ok:
            self.watchdog.ok()

    async def _watch(self) -> None:
        await self.watchdog.run(self.store.redis.ping, self._upkeep.is_closing)

    async def _drain(self) -> None:
        self.runner.flush_batches()
        # After --max-jobs, every claimed job runs to its end: nothing is handed back.
        done_by_count = self._max_jobs_reached() and not self.stopping.is_set()
        deadline = math.inf if done_by_count else time.monotonic() + self.grace_s
        await self.inflight.wait_until_idle(deadline)
        unfinished = [h for h in self.inflight.jobs() if h.running]
        for h in unfinished:
            self.inflight.stop(h, "shutdown")
        await asyncio.gather(*(h.task for h in unfinished if h.task), return_exceptions=True)
        await self.acks.flush_all()
        if unfinished:
            still_held = (h for h in unfinished if (h.job.queue, h.job.id) in self.inflight)
            await self._release(list(still_held))

    async def _release(self, items: list[Held]) -> None:
        for queue, chunk in chunk_by_queue(items, queue_of):
            held = leases(chunk)
            for _ in range(10):  # then give up: the leases expire and recovery takes over
                try:
                    n = await self.store.run(writes.release(queue, held))
                    log.info("released %d unfinished jobs of %s to pending", n, queue)
                    break
                except REDIS_DOWN:
                    await asyncio.sleep(0.5)
        for h in items:
            self.inflight.forget(h)

    # ---- claiming ----------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        self.acks.ride(self._ride)
        try:
            await self._claim_until_stopped()
        finally:
            self.acks.ride(False)

    async def _claim_until_stopped(self) -> None:
        outage = 0
        while not self.stopping.is_set() and not self._max_jobs_reached():
            free = self.concurrency - self.inflight.busy
            if self.max_jobs is not None:
                free = min(free, self.max_jobs - self._claimed_total)
            if free <= 0:
                await self.inflight.wait_for_slot()
                continue
            self._wake.clear()
            try:
                claimed, next_due = await self._claim(free)
                self.ready = True
                self.watchdog.ok()
            except REDIS_DOWN as exc:
                # Unreachable, or refusing (OOM, MISCONF, READONLY, LOADING, ...): the same.
                self.ready = False
                outage += 1
                if outage == 1:
                    log.warning("redis cannot serve claims, claiming nothing: %s", exc)
                await self._sleep(min(CLAIM_RETRY_MAX_S, 0.25 * outage))
                continue
            if outage:
                log.info("redis serves claims again after %d failed tries", outage)
                outage = 0
            if claimed >= free:
                continue
            if self.burst and await self._burst_done(next_due):
                return
            timeout = IDLE_WAIT_S if next_due is None else min(IDLE_WAIT_S, next_due / 1000)
            await self._sleep(timeout)

    def _max_jobs_reached(self) -> bool:
        return self.max_jobs is not None and self._claimed_total >= self.max_jobs

    async def _sleep(self, timeout: float) -> None:
        # No claim follows soon: the successes meanwhile are written on their own.
        self.acks.ride(False)
        # asyncio.timeout, not wait_for: no task per wait, and the wake-up reaches the claim
        # loop in one step of the event loop rather than three.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        self.acks.ride(self._ride)

    async def _claim(self, free: int) -> tuple[int, int | None]:
        """Claims up to ``free`` jobs; returns (jobs claimed, ms until more may be due)."""
        total, next_due, dry = 0, None, set()
        for queue, share in self._order.plan(free):
            share = min(share, free - total)
            while share > 0 and queue not in dry:
                want = min(share, writes.MAX_BATCH)
                limiter = self.settings.config[queue].rate_limiter
                not_after = await self.claims.before_claim(queue)
                try:
                    got = await limits.claim(
                        self.store,
                        queue,
                        self.name,
                        want,
                        self.lease_override,
                        limiter,
                        not_after,
                        send=self._send_claim,
                    )
                except REDIS_DOWN:
                    self.claims.failed(queue, not_after)
                    raise
                self.claims.answered(queue, got)
                if got.expired:
                    # Late: redis-py resent it after a timeout, so an earlier copy may have
                    # been served with its reply lost; hand that back, then claim again.
                    log.info("a claim on %s reached Redis too late and leased nothing", queue)
                    self.claims.failed(queue, not_after)
                    return total, 0
                self.settings.learn_lease(queue, got.lease_ms)
                if got.next_due_ms is not None:
                    due = got.next_due_ms
                    next_due = due if next_due is None else min(next_due, due)
                for job in got.jobs:
                    self._start(job)
                self._claimed_total += len(got.jobs)
                total += len(got.jobs)
                share -= len(got.jobs)
                if len(got.jobs) < want:
                    dry.add(queue)
                self._order.claimed(queue, len(got.jobs))
        return total, next_due

    async def _send_claim(self, op: Op[ClaimResult]) -> ClaimResult:
        """Runs the claim, with the pending successes before it in the same round trip
        (each script stays atomic): a completion reaches Redis before the claim that
        fills the slot it freed."""
        acks = self.acks.take() if self._ride else None
        if acks is None:
            return await self.store.run(op)
        try:
            *replies, got = await self.store.run_many([*acks.calls, op])
        except BaseException:
            self.acks.refused(acks)
            raise
        self.acks.stored(acks, replies)
        return cast(ClaimResult, got)

    async def _burst_done(self, next_due: int | None) -> bool:
        if self.inflight.busy or len(self.inflight) or len(self.acks):
            return False
        stats = [await self.store.run(reads.stats(q)) for q in self.queues]
        return all(s.pending == 0 and s.running == 0 for s in stats) and (
            next_due is None or next_due > 0
        )

    def _start(self, job: ClaimedJob) -> None:
        report = self.runner.report_progress
        ctx = JobContext(job.id, job.queue, job.name, job.attempt, job.max_attempts, None, report)
        held = self.inflight.hold(job, ctx)
        # Every attempt: a retry waits from its retry time, as a delayed job from its run_at.
        self.metrics.started(job.queue, job.priority, job.waited_ms / 1000)
        self.runner.start(held)

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": self.queues,
            "concurrency": self.concurrency,
            "in_flight": self.inflight.busy,
            "heartbeat_ms": int(time.time() * 1000),
        }
