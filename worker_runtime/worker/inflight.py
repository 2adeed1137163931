"""The registry of the jobs a worker holds: their tasks, the busy slots, the async
handlers' deadlines, and why a job was stopped."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Literal

from worker_runtime.models import ClaimedJob
from worker_runtime.worker.execution import JobContext

#: Why a running job's task was cancelled: its lease went to another attempt ("lost"), a
#: user cancelled it, it ran past its timeout, or the worker is stopping.
StopReason = Literal["lost", "cancelled", "timeout", "shutdown"]

#: Finished jobs the deadline heap may keep beyond twice the busy slots before a prune.
PRUNE_SLACK = 64


@dataclass(eq=False, slots=True)
class Held:
    """One claimed job from its claim until its outcome is reported (or it is released)."""

    job: ClaimedJob
    ctx: JobContext
    task: asyncio.Task[None] | None = None
    stop_reason: StopReason | None = None
    #: Part of a batch: its task is shared with the other items and never cancelled alone.
    batched: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


def queue_of(held: Held) -> str:
    """The key that groups held jobs into per-queue script calls."""
    return held.job.queue


def leases(items: list[Held]) -> list[tuple[str, str]]:
    """(job id, lease token) of each: what the heartbeat and release scripts take."""
    return [(h.job.id, h.job.token) for h in items]


class InFlight:
    """Every job the worker holds, keyed by (queue, job id), and the slots they take.

    A slot is busy from the claim until the handler returns; the job stays held until its
    outcome is written, so a heartbeat keeps its lease alive in between."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], Held] = {}
        self._busy = 0
        self._slot_free = asyncio.Event()
        #: Deadlines of async handlers: one shared heap costs a busy worker less than a timer
        #: per job. Finished jobs stay until their deadline passes (or a bulk prune).
        self._deadlines: list[tuple[float, int, Held]] = []
        self._tiebreak = itertools.count()

    @property
    def busy(self) -> int:
        """Slots taken by handlers still running."""
        return self._busy

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._held

    def get(self, queue: str, job_id: str) -> Held | None:
        return self._held.get((queue, job_id))

    def jobs(self) -> list[Held]:
        """A snapshot of every held job, in claim order."""
        return list(self._held.values())

    # ---- from claim to outcome ----------------------------------------------------------

    def hold(self, job: ClaimedJob, ctx: JobContext) -> Held:
        """Registers a claimed job; it takes a slot."""
        held = Held(job, ctx, None, None, False, time.monotonic())
        self._held[(job.queue, job.id)] = held
        self._busy += 1
        return held

    def finished(self, n: int = 1) -> None:
        """``n`` handlers returned (or were cancelled): their slots are free."""
        self._busy -= n
        self._slot_free.set()

    def forget(self, held: Held) -> None:
        """The job's outcome is written, or it is no longer ours: stop holding it."""
        self._held.pop((held.job.queue, held.job.id), None)

    def forget_all(self, items: list[Held]) -> None:
        """``forget`` for each (one call per batch of outcomes rather than per job)."""
        pop = self._held.pop
        for held in items:
            pop((held.job.queue, held.job.id), None)

    # ---- stopping -------------------------------------------------------------------------

    def stop(self, held: Held, reason: StopReason) -> None:
        """Tells the handler to stop and cancels its task. A batch's task is shared, so
        only a shutdown cancels it; a lost job belongs to another attempt: forgotten now."""
        held.stop_reason = reason
        held.ctx.cancelled.set()
        if held.task is not None and (reason == "shutdown" or not held.batched):
            held.task.cancel()
        if reason == "lost":
            self.forget(held)

    def watch_deadline(self, held: Held, deadline: float) -> None:
        """Stops ``held`` with "timeout" once ``time.monotonic()`` passes ``deadline``."""
        if len(self._deadlines) > 2 * self._busy + PRUNE_SLACK:
            # Finished jobs stay in the heap until their deadline (minutes): dropped in bulk
            # here, at most once per ``busy + PRUNE_SLACK`` jobs, or a busy worker would keep
            # thousands of finished jobs (their tasks and contexts) alive.
            self._deadlines = [e for e in self._deadlines if e[2].task and not e[2].task.done()]
            heapq.heapify(self._deadlines)
        heapq.heappush(self._deadlines, (deadline, next(self._tiebreak), held))

    def expire(self, now: float) -> None:
        """Stops the watched jobs past their deadline that are still running."""
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, held = heapq.heappop(self._deadlines)
            # Inline rather than ``held.running``: this runs once per async job.
            if held.task is not None and not held.task.done() and not held.stop_reason:
                self.stop(held, "timeout")

    # ---- waiting for slots ----------------------------------------------------------------

    async def wait_for_slot(self) -> None:
        """Returns when a slot frees up (or ``wake_waiters`` is called)."""
        self._slot_free.clear()
        await self._slot_free.wait()

    async def wait_until_idle(self, deadline: float) -> None:
        """Returns when no handler runs any more, or at ``deadline`` (``time.monotonic()``)."""
        while self._busy and time.monotonic() < deadline:
            self._slot_free.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._slot_free.wait(), deadline - time.monotonic())

    def wake_waiters(self) -> None:
        self._slot_free.set()
