"""The client's enqueues: validated first, one script call per queue and 1,000 jobs."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from worker_runtime.client.core import ClientCore
from worker_runtime.engine import writes
from worker_runtime.engine.bodies import payload_data
from worker_runtime.engine.chunking import chunk_groups, group_by_queue
from worker_runtime.engine.plain import plain_enqueue, plain_job
from worker_runtime.engine.prepare import (
    PreparedJob,
    new_job_id,
    new_job_id_data,
    plain_priority,
    prepare,
    prepare_many,
)
from worker_runtime.engine.validation import check_job_name, check_queue_name
from worker_runtime.errors import PayloadTooLargeError
from worker_runtime.models import (
    Dependency,
    DependencyPolicy,
    Enqueued,
    JobSpec,
    Priority,
)


class Producing(ClientCore):
    """Adds jobs."""

    async def enqueue(
        self,
        queue: str,
        job_name: str,
        payload: Any = None,
        *,
        priority: int | str = Priority.NORMAL,
        delay: float | None = None,
        run_at: float | datetime | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        dedupe_key: str | None = None,
        job_id: str | None = None,
        rate_key: str | None = None,
        depends_on: Sequence[Dependency] | None = None,
        on_dependency_failure: DependencyPolicy = "cancel",
    ) -> Enqueued:
        """Adds one job; concurrent calls share a round trip to Redis, each returning once
        its job is stored (or refused). ``delay`` is in seconds from now; ``run_at`` a Unix
        time in seconds or a timezone-aware datetime; ``timeout`` in seconds; ``rate_key`` (a
        tenant, an external API) is subject to the queue's per-key rate limit and running
        cap. With ``depends_on`` (ids of jobs of the same queue, or ``(queue, id)`` pairs
        for jobs of other queues on the same Redis) the job waits until each has
        completed; ``on_dependency_failure`` says what it does when one ends dead or
        cancelled: "cancel" (with it, reason DependencyFailed), "run" or "wait" (for a
        retry). Raises before writing anything when an argument or the payload is invalid,
        over the queue's size limit, or a dependency is unknown (field ``depends_on``)."""
        if (
            delay is None
            and run_at is None
            and max_attempts is None
            and timeout is None
            and dedupe_key is None
            and job_id is None
            and rate_key is None
            and depends_on is None
            and on_dependency_failure == "cancel"
            and self.durable is None
            and self.store.autopipeline is not None
        ):
            level = plain_priority(priority)
            if level is not None:  # the common job: no JobSpec, PreparedJob or Op for it
                return await self._enqueue_plain(queue, job_name, payload, level)
        spec = JobSpec(
            queue,
            job_name,
            payload,
            priority,
            delay,
            run_at,
            max_attempts,
            timeout,
            dedupe_key,
            job_id,
            rate_key,
            depends_on,
            on_dependency_failure,
        )
        job = prepare(spec)
        if job.depends_on:  # rare: the general path
            return (await self.enqueue_many([spec]))[0]
        for _ in range(3):
            replies: list[list[Enqueued]] = await self.store.run_many(
                [writes.enqueue(queue, [job])], durable=self.durable
            )
            result = replies[0][0]
            if result.outcome != "exists" or not job.generated_id:
                break
            # 80 random bits met an existing id: never drop the job, re-id it.
            job = dataclasses.replace(job, id=new_job_id())
        if queue not in self.store.known_queues:  # after the job: see enqueue_many
            await self.store.register_queues([queue])
        return result

    async def _enqueue_plain(
        self, queue: str, job_name: str, payload: Any, priority: int
    ) -> Enqueued:
        """``enqueue`` of a plain job on one Redis, with the checks ``prepare`` makes of it
        (in the same order) and its command packed from a template (``engine.plain``)."""
        check_queue_name(queue)
        check_job_name(job_name)
        data = payload_data(payload, job_name)
        for _ in range(3):
            job_id = new_job_id_data()
            reply = await self.store.send(plain_enqueue(queue, job_name, priority, job_id, data))
            if reply[0] == 1:
                result = Enqueued(job_id.decode(), queue, True, "created")
                break
            # "exists" or refused: read as the general path reads it (and raises).
            job = plain_job(queue, job_name, priority, job_id.decode(), data.decode())
            result = writes.enqueue(queue, [job]).parse(reply)[0]
            if result.outcome != "exists":
                break
            # 80 random bits met an existing id: never drop the job, re-id it.
        if queue not in self.store.known_queues:  # after the job: see enqueue_many
            await self.store.register_queues([queue])
        return result

    async def enqueue_many(self, specs: Iterable[JobSpec]) -> list[Enqueued]:
        """Adds many jobs, in one round trip per 1,000 jobs; all are validated first.
        Results come in the order of ``specs``."""
        prepared = prepare_many(list(specs))
        by_queue = group_by_queue(enumerate(prepared), _queue_of)
        if sum(-(-len(items) // writes.ENQUEUE_CHUNK) for items in by_queue.values()) > 1:
            # One script call is all-or-nothing; across calls, check limits up front.
            await self._check_payload_limits(by_queue)
        out = await self._send(prepared, by_queue)
        # After the jobs, so that a refused enqueue leaves no trace at all.
        await self.store.register_queues(list(by_queue))
        return out

    async def _send(
        self, prepared: list[PreparedJob], by_queue: dict[str, list[tuple[int, PreparedJob]]]
    ) -> list[Enqueued]:
        out: list[Enqueued | None] = [None] * len(prepared)
        for _ in range(3):
            batches = chunk_groups(by_queue, writes.ENQUEUE_CHUNK)
            replies = await self.store.run_many(
                [writes.enqueue(q, [job for _, job in chunk]) for q, chunk in batches],
                durable=self.durable,
            )
            clashes: dict[str, list[tuple[int, PreparedJob]]] = defaultdict(list)
            for (queue, chunk), reply in zip(batches, replies, strict=True):
                for (index, job), result in zip(chunk, reply, strict=True):
                    out[index] = result
                    if result.outcome == "exists" and job.generated_id:
                        # 80 random bits met an existing id: never drop the job, re-id it.
                        fresh = dataclasses.replace(job, id=new_job_id())
                        clashes[queue].append((index, fresh))
            if not clashes:
                break
            by_queue = clashes
        return [r for r in out if r is not None]

    async def _check_payload_limits(
        self, by_queue: dict[str, list[tuple[int, PreparedJob]]]
    ) -> None:
        for queue, items in by_queue.items():
            limit = (await self.config(queue)).max_payload_bytes
            for _, job in items:
                if job.payload_bytes > limit:
                    raise PayloadTooLargeError(
                        f"payload: {job.payload_bytes} bytes{_given_id(job)}, over the limit of "
                        f"{limit} bytes of queue {queue!r}; nothing was enqueued",
                        field="payload",
                    )


def _given_id(job: PreparedJob) -> str:
    """`` of job ID`` when the caller chose the id; a generated one names nothing real."""
    return "" if job.generated_id else f" of job {job.id}"


def _queue_of(indexed: tuple[int, PreparedJob]) -> str:
    return indexed[1].queue
