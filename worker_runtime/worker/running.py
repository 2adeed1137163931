"""Runs claimed jobs' handlers (one job, or a batch for batch handlers) and reports outcomes:
successes to the ack batcher, failures to the fail script."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from concurrent.futures import Executor

from worker_runtime.engine import writes
from worker_runtime.engine.operation import loads
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.handlers import Handler
from worker_runtime.models import ClaimedJob
from worker_runtime.worker.acks import AckBatcher
from worker_runtime.worker.execution import (
    BatchItem,
    JobContext,
    Outcome,
    execute,
    execute_batch,
    failed,
)
from worker_runtime.worker.inflight import Held, InFlight
from worker_runtime.worker.metrics import NoMetrics
from worker_runtime.worker.settings import QueueSettings

log = logging.getLogger("blackroad.worker")


class JobRunner:
    """Starts each held job's handler and owns the batches that batch handlers collect."""

    def __init__(
        self,
        *,
        store: AsyncStore,
        handlers: Mapping[str, Handler],
        inflight: InFlight,
        acks: AckBatcher,
        settings: QueueSettings,
        metrics: NoMetrics,
        pool: Executor,
        processes: bool,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.inflight = inflight
        self.acks = acks
        self.settings = settings
        self.metrics = metrics
        self.pool = pool
        #: Sync handlers run in a forked child per job (killed on timeout), not a thread.
        self.processes = processes
        self._batches: dict[str, list[Held]] = {}
        self._batch_timers: dict[str, asyncio.TimerHandle] = {}
        #: The worker's event loop, once it runs: progress reports come from any thread.
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self, held: Held) -> None:
        """Runs the job now, or adds it to its batch handler's batch."""
        handler = self.handlers.get(held.job.name)
        if handler is not None and handler.batch is not None and _decodable(held.job):
            self._add_to_batch(handler, held)
        else:
            held.task = asyncio.create_task(self._run(held, handler))

    def flush_batches(self) -> None:
        """Partial batches run now rather than wait (at shutdown)."""
        for name in list(self._batches):
            self._flush_batch(self.handlers[name])

    def report_progress(self, ctx: JobContext, percent: float, message: str) -> None:
        """``ctx.progress`` of every job (one bound method, not a closure per job); called
        from the loop or from a sync handler's thread."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._spawn_progress, ctx, percent, message)

    def _spawn_progress(self, ctx: JobContext, percent: float, message: str) -> None:
        held = self.inflight.get(ctx.queue, ctx.id)
        if held is None:
            return  # its outcome is written already: the progress would be refused
        job = held.job
        op = writes.progress(job.queue, job.id, job.token, percent, message)
        task = asyncio.create_task(self.store.run(op))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # ---- batches ---------------------------------------------------------------------

    def _add_to_batch(self, handler: Handler, held: Held) -> None:
        held.batched = True
        items = self._batches.setdefault(handler.name, [])
        items.append(held)
        if len(items) >= (handler.batch or 1):
            self._flush_batch(handler)
        elif handler.name not in self._batch_timers:
            loop = asyncio.get_running_loop()
            self._batch_timers[handler.name] = loop.call_later(
                handler.batch_wait, self._flush_batch, handler
            )

    def _flush_batch(self, handler: Handler) -> None:
        timer = self._batch_timers.pop(handler.name, None)
        if timer is not None:
            timer.cancel()
        items = self._batches.pop(handler.name, [])
        if items:
            task = asyncio.create_task(self._run_batch(handler, items))
            task.add_done_callback(lambda done: self._check_reported(done, items))
            for held in items:
                held.task = task

    def _check_reported(self, task: asyncio.Task[None], items: list[Held]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._unreported(items, task.exception())

    def _unreported(self, items: list[Held], exc: BaseException | None) -> None:
        """A run whose outcome could not be reported (a bug, not an outage: those are
        retried) must not hold its jobs forever: let their leases run out, and recovery
        hands them out again."""
        log.error(
            "reporting the outcome of %s failed; its lease will run out and it will be recovered",
            ", ".join(h.job.id for h in items),
            exc_info=exc,
        )
        self.inflight.forget_all(items)

    async def _run_batch(self, handler: Handler, items: list[Held]) -> None:
        batch = [BatchItem(h.job.id, loads(h.job.raw_payload), h.ctx) for h in items]
        timeout_ms = max(
            h.job.timeout_ms or self.settings.config[h.job.queue].timeout_ms for h in items
        )
        started = time.monotonic()
        try:
            outcomes = await execute_batch(handler, batch, timeout_ms / 1000, self.pool)
        except asyncio.CancelledError:
            return  # shutdown: the items are released
        finally:
            self.inflight.finished(len(items))
        elapsed = time.monotonic() - started
        for held, outcome in zip(items, outcomes, strict=True):
            self.metrics.ran(held.job.queue, held.job.name, elapsed)
            if held.stop_reason == "lost":
                continue
            if outcome.ok:
                self.acks.add(held, outcome.result)
            else:
                await self._report_failure(held, outcome)

    # ---- running one job ---------------------------------------------------------------

    async def _run(self, held: Held, handler: Handler | None) -> None:
        # One coroutine per job, and what it cannot report caught here rather than in a done
        # callback: no second coroutine or callback to schedule per job.
        job = held.job
        try:
            timeout_ms = job.timeout_ms or self.settings.config[job.queue].timeout_ms
            try:
                if job.name == writes.UNDECODABLE:
                    outcome = failed("Undecodable", "the job's record is malformed", permanent=True)
                elif handler is None:
                    outcome = failed("NoHandler", f"no handler for {job.name!r}", permanent=True)
                else:
                    if handler.is_async:
                        self.inflight.watch_deadline(held, time.monotonic() + timeout_ms / 1000)
                    outcome = await execute(
                        handler,
                        job,
                        held.ctx,
                        timeout_ms / 1000,
                        self.pool,
                        timeout_watched=True,
                        processes=self.processes,
                    )
            except asyncio.CancelledError:
                if held.stop_reason == "cancelled":
                    outcome = failed("Cancelled", "cancelled while running", permanent=True)
                elif held.stop_reason == "timeout":
                    limit = timeout_ms / 1000
                    outcome = failed(
                        "Timeout", f"handler ran longer than its timeout of {limit:g}s"
                    )
                else:
                    return  # lease lost (another attempt owns it) or shutdown (released later)
            finally:
                self.inflight.finished()
                self.metrics.ran(job.queue, job.name, time.monotonic() - held.started)
            if outcome.ok:
                self.acks.add(held, outcome.result)
            else:
                await self._report_failure(held, outcome)
        except Exception as exc:
            self._unreported([held], exc)

    async def _report_failure(self, held: Held, outcome: Outcome) -> None:
        job = held.job
        op = writes.fail(
            job.queue,
            job.id,
            job.token,
            reason=outcome.reason,
            error=outcome.error,
            permanent=outcome.permanent,
            delay_ms=outcome.delay_ms,
            draw=random.random(),
        )
        self.metrics.failed(job.queue, job.name, outcome.reason)
        tries = 0
        while True:
            # Retried until stored, or until the lease ran out (the reply is then lease_lost).
            try:
                result = await self.store.run(op)
                break
            except REDIS_DOWN:
                tries += 1
                await asyncio.sleep(min(2.0, 0.05 * 2 ** min(tries, 6)))
        self.inflight.forget(held)
        status = {"retry": "retried", "lease_lost": "lease_lost"}.get(
            result.outcome, result.outcome
        )
        self.metrics.finished(job.queue, job.name, status)
        log.info(
            "job %s %s attempt %d: %s (%s)",
            job.id,
            job.queue,
            job.attempt,
            result.outcome,
            outcome.reason,
        )


def _decodable(job: ClaimedJob) -> bool:
    try:
        loads(job.raw_payload)
    except ValueError:
        return False
    return True
