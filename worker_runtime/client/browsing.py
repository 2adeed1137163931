"""The client's reads of jobs and queues: one job, pages of a state, stats."""

from __future__ import annotations

from worker_runtime.client.core import ClientCore
from worker_runtime.engine import reads
from worker_runtime.engine.keys import STATE_SETS
from worker_runtime.errors import InvalidArgumentError, JobNotFoundError
from worker_runtime.models import Job, QueueStats


class Browsing(ClientCore):
    """Reads jobs and queue counts."""

    async def get_job(self, job_id: str, queue: str | None = None) -> Job | None:
        try:
            q = await self._queue_of(job_id, queue)
        except JobNotFoundError:
            return None
        return await self.store.run(reads.job_info(q, job_id))

    async def list_jobs(
        self, queue: str, state: str = "pending", offset: int = 0, limit: int = 50
    ) -> list[Job]:
        """One page of the jobs in ``state``: pending in the order the engine takes them
        (priority, then FIFO; under weighted fairness the levels interleave), delayed by due
        time, running by lease deadline, completed, dead and cancelled newest first."""
        await self.require_queue(queue)
        if state not in STATE_SETS:
            raise InvalidArgumentError(
                f"state: {state!r} is not one of {', '.join(STATE_SETS)}", field="state"
            )
        if not (isinstance(offset, int) and offset >= 0 and isinstance(limit, int) and limit > 0):
            raise InvalidArgumentError(
                "offset/limit: offset must be an integer >= 0, limit >= 1", field="limit"
            )
        ids = await self.store.run(reads.job_ids(queue, state, offset, limit))
        # A job may move on between the two reads; it is listed in its state of now.
        return await self.store.run(reads.jobs_info(queue, ids)) if ids else []

    async def dead_letters(self, queue: str, offset: int = 0, limit: int = 50) -> list[Job]:
        """Dead jobs, newest first."""
        return await self.list_jobs(queue, "dead", offset, limit)

    async def stats(self, queue: str) -> QueueStats:
        """Job counts of an existing queue (QueueNotFoundError for an unknown name)."""
        await self.require_queue(queue)
        return await self.store.run(reads.stats(queue))
