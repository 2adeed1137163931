"""The client's waits: for one job's outcome, and for the job events of queues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from worker_runtime.client.browsing import Browsing
from worker_runtime.engine import events as job_events
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.subscription import Subscription
from worker_runtime.errors import (
    InvalidArgumentError,
    JobCancelledError,
    JobDeadError,
    JobNotFoundError,
    WaitTimeoutError,
)
from worker_runtime.models import JobEvent, JobState

#: Longest a waiter trusts the completion channel alone before it reads the job again
#: (a notification sent while its connection was down would otherwise be missed).
WAIT_RECHECK_S = 5.0


class Waiting(Browsing):
    """Waits for outcomes and events."""

    async def wait(
        self, job_id: str, timeout: float | None = None, queue: str | None = None
    ) -> Any:
        """The job's result once it completes. Raises JobDeadError or JobCancelledError when
        it ends otherwise, WaitTimeoutError after ``timeout`` seconds (None: no limit).

        Listens to the queue's completion channel rather than polling; the state is read
        again at most every WAIT_RECHECK_S seconds, in case a notification was missed."""
        if timeout is not None and not (isinstance(timeout, int | float) and timeout >= 0):
            raise InvalidArgumentError("timeout: seconds >= 0, or None", field="timeout")
        queue = await self._queue_of(job_id, queue)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        # Subscribed (confirmed by Redis) before the first read, so a completion in between
        # is not missed; on a cluster on the queue's master, followed across a failover.
        async with Subscription(self.store, [QueueKeys.of(queue).done]) as subscription:
            while True:
                job = await self.get_job(job_id, queue)
                if job is None:
                    raise JobNotFoundError(f"job {job_id!r}: no such job in queue {queue!r}")
                if job.state is JobState.COMPLETED:
                    return job.result
                if job.state is JobState.DEAD:
                    errs = [a.error for a in job.history if a.error]
                    last = f": {errs[-1].splitlines()[0]}" if errs else ""
                    raise JobDeadError(f"job {job_id!r} is dead ({job.reason}){last}")
                if job.state is JobState.CANCELLED:
                    raise JobCancelledError(f"job {job_id!r} was cancelled")
                left = WAIT_RECHECK_S if deadline is None else deadline - loop.time()
                if left <= 0:
                    raise WaitTimeoutError(
                        f"job {job_id!r} is still {job.state} after {timeout:g}s"
                    )
                await _next_mention(subscription, job_id, min(left, WAIT_RECHECK_S))

    def events(self, queues: Sequence[str]) -> AsyncGenerator[JobEvent, None]:
        """The job events of ``queues`` as they happen (enqueued, started, progress,
        completed, failed, retried, dead, cancelled, released), from the moment of
        subscription: ``async for e in client.events(["emails"])``. Live and at-most-once (a
        disconnected listener misses events); a queue nobody listens to pays next to
        nothing for it."""
        return job_events.listen(self.store, queues)


async def _next_mention(subscription: Subscription, job_id: str, seconds: float) -> None:
    """Returns when a completion message names ``job_id``, or after ``seconds``."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while (left := until - loop.time()) > 0:
        message = await subscription.get(left)
        if message is not None and job_id in message[1].split("\n"):
            return
