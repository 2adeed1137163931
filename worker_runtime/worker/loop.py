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

from worker_runtime.engine import limits, reads, writes
from worker_runtime.engine.chunking import chunk_by_queue
from worker_runtime.engine.connection import SOCKET_TIMEOUT
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.handlers import Handler
from worker_runtime.models import ClaimedJob
from worker_runtime.worker.acks import AckBatcher
from worker_runtime.worker.claims import ClaimGuard
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.health import Watchdog
from worker_runtime.worker.inflight import Held, InFlight, leases, queue_of
from worker_runtime.worker.metrics import WorkerMetrics
from worker_runtime.worker.running import JobRunner
from worker_runtime.worker.settings import QueueSettings
from worker_runtime.worker.supervise import supervise
from worker_runtime.worker.upkeep import Upkeep

log = logging.getLogger("blackroad.worker")

#: Longest idle wait without a wake-up message, a safety net for a lost message.
IDLE_WAIT_S = 2.0
#: Longest wait between claims while Redis cannot serve them.
CLAIM_RETRY_MAX_S = 1.0


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
        metrics: WorkerMetrics | None = None,
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
        self.metrics = metrics or WorkerMetrics()
        self.inflight = InFlight()
        # Read at scrape time: setting a gauge on every job start and end costs a lock each.
        self.metrics.processing.labels(self.name).set_function(lambda: self.inflight.busy)
        self.metrics.concurrency.labels(self.name).set(concurrency)
        self._ready = False
        #: Not ready once no round trip to Redis succeeded for the socket timeout.
        self.watchdog = Watchdog(SOCKET_TIMEOUT)
        #: Claim deadlines on the Redis clock; hands back what a lost reply leased.
        self.claims = ClaimGuard(store, self.name)
        self.stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.settings = QueueSettings(queues, lease_ms)
        self.acks = AckBatcher(store, self.name, self.inflight, self.metrics)
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
        self._queue_pass: dict[str, float] = {q: 0.0 for q in queues}
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def _claim_order(self, free: int) -> list[tuple[str, int]]:
        """Queues to claim from with how many slots each: strict order, or by weight
        (stride scheduling across calls, so shares hold however few slots are free)."""
        if not self.queue_weights:
            return [(q, free) for q in self.queues]
        weights = self.queue_weights
        order = sorted(self.queues, key=lambda q: (self._queue_pass[q], self.queues.index(q)))
        total = sum(weights[q] for q in order)
        plan = [(q, max(1, round(free * weights[q] / total))) for q in order]
        return plan + [(q, free) for q in order]  # then any slot left, in the same order

    async def _claim(self, free: int) -> tuple[int, int | None]:
        """Claims up to ``free`` jobs; returns (jobs claimed, ms until more may be due)."""
        total, next_due, dry = 0, None, set()
        for queue, share in self._claim_order(free):
            share = min(share, free - total)
            while share > 0 and queue not in dry:
                want = min(share, writes.MAX_BATCH)
                limiter = self.settings.config[queue].rate_limiter
                not_after = await self.claims.before_claim(queue)
                try:
                    got = await limits.claim(
                        self.store, queue, self.name, want, self.lease_override, limiter, not_after
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
                if self.queue_weights:
                    self._queue_pass[queue] += max(1, len(got.jobs)) / self.queue_weights[queue]
        return total, next_due

    async def _burst_done(self, next_due: int | None) -> bool:
        if self.inflight.busy or len(self.inflight) or len(self.acks):
            return False
        stats = [await self.store.run(reads.stats(q)) for q in self.queues]
        return all(s.pending == 0 and s.running == 0 for s in stats) and (
            next_due is None or next_due > 0
        )

    def _start(self, job: ClaimedJob) -> None:
        ctx = JobContext(job.id, job.queue, job.name, job.attempt, job.max_attempts)
        held = self.inflight.hold(job, ctx)
        loop = asyncio.get_running_loop()

        def report(percent: float, message: str) -> None:
            loop.call_soon_threadsafe(self._spawn_progress, held, percent, message)

        ctx._reporter = report
        # Every attempt: a retry waits from its retry time, as a delayed job from its run_at.
        latency = self.metrics.of(self.metrics.latency, job.queue, str(job.priority))
        latency.observe(job.waited_ms / 1000)
        self.runner.start(held)

    def _spawn_progress(self, held: Held, percent: float, message: str) -> None:
        job = held.job
        op = writes.progress(job.queue, job.id, job.token, percent, message)
        task = asyncio.create_task(self.store.run(op))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

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
