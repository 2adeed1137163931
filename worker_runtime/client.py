"""The producer's API: enqueue jobs, inspect and steer them, read queue stats.

``Client`` is asyncio; ``SyncClient`` offers the same methods blocking, by running a
``Client`` on a private event loop thread (so it also works inside a running loop).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import pydantic

from worker_runtime.engine import operation, reads, writes
from worker_runtime.engine.chunking import chunk_groups, group_by_queue
from worker_runtime.engine.connection import DEFAULT_URL, connect_async
from worker_runtime.engine.keys import STATE_SETS, QueueKeys
from worker_runtime.engine.prepare import PreparedJob, new_job_id, prepare_many
from worker_runtime.engine.store import AsyncStore
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import InvalidArgumentError, JobNotFoundError, PayloadTooLargeError
from worker_runtime.models import Enqueued, Job, JobSpec, Priority, QueueConfig, QueueStats

if TYPE_CHECKING:
    from worker_runtime.cron.schedules import Schedule, ScheduleSpec

P = ParamSpec("P")
R = TypeVar("R")


class Client:
    """Asynchronous client of the queue engine."""

    def __init__(self, store: AsyncStore) -> None:
        self.store = store

    @classmethod
    def from_url(cls, url: str = DEFAULT_URL, **options: Any) -> Client:
        return cls(AsyncStore(connect_async(url, **options)))

    async def close(self) -> None:
        await self.store.redis.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def enqueue(
        self,
        queue: str,
        job_name: str,
        payload: Any = None,
        *,
        priority: int | str = Priority.NORMAL,
        delay: float | None = None,
        run_at: float | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        dedupe_key: str | None = None,
        job_id: str | None = None,
        rate_key: str | None = None,
    ) -> Enqueued:
        """Adds one job. ``delay`` is in seconds from now; ``run_at`` a Unix time in
        seconds; ``timeout`` in seconds; ``rate_key`` (a tenant, an external API) is subject
        to the queue's per-key rate limit and running cap. Raises before writing anything
        when an argument or the payload is invalid or over the queue's size limit."""
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
        )
        return (await self.enqueue_many([spec]))[0]

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
                [writes.enqueue(q, [job for _, job in chunk]) for q, chunk in batches]
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
                        f"job {job.id}: payload is {job.payload_bytes} bytes, over the "
                        f"limit of {limit} bytes of queue {queue!r}",
                        field="payload",
                    )

    async def _queue_of(self, job_id: str, queue: str | None) -> str:
        if queue is not None:
            check_queue_name(queue)
            return queue
        found = await self.store.run(reads.locate(await self.queues(), job_id))
        if found is None:
            raise JobNotFoundError(f"job {job_id}: not found in any known queue")
        return found

    async def get_job(self, job_id: str, queue: str | None = None) -> Job | None:
        try:
            q = await self._queue_of(job_id, queue)
        except JobNotFoundError:
            return None
        return await self.store.run(reads.job_info(q, job_id))

    async def cancel(self, job_id: str, queue: str | None = None) -> writes.CancelResult:
        """ "cancelled", "requested" (running: its worker stops it), or "finished"."""
        return await self.store.run(writes.cancel(await self._queue_of(job_id, queue), job_id))

    async def retry(self, job_id: str, queue: str | None = None) -> None:
        """Sends a dead or cancelled job back to pending with fresh attempts."""
        await self.store.run(writes.retry(await self._queue_of(job_id, queue), [job_id]))

    async def retry_dead(self, queue: str) -> int:
        """Sends every dead job of ``queue`` back to pending; returns how many."""
        check_queue_name(queue)
        total = 0
        while n := await self.store.run(writes.retry_all(queue)):
            total += n
        return total

    async def purge(self, queue: str, states: Sequence[str] = STATE_SETS) -> int:
        check_queue_name(queue)
        total = 0
        for state in states:
            while n := await self.store.run(writes.purge(queue, state)):
                total += n
        return total

    async def purge_dead(self, queue: str, older_than_ms: int) -> int:
        check_queue_name(queue)
        total = 0
        while n := await self.store.run(writes.purge(queue, "dead", older_than_ms=older_than_ms)):
            total += n
        return total

    async def dead_letters(self, queue: str, offset: int = 0, limit: int = 50) -> list[Job]:
        """Dead jobs, newest first."""
        check_queue_name(queue)
        dead = QueueKeys.of(queue).dead
        ids: list[str] = await self.store.call(
            self.store.redis.zrevrange(dead, offset, offset + limit - 1)  # type: ignore[arg-type]
        )
        return await self.store.run(reads.jobs_info(queue, ids)) if ids else []

    async def stats(self, queue: str) -> QueueStats:
        check_queue_name(queue)
        return await self.store.run(reads.stats(queue))

    async def queues(self) -> list[str]:
        return await self.store.queues()

    async def config(self, queue: str) -> QueueConfig:
        check_queue_name(queue)
        return QueueConfig.from_redis(await self.store.run(reads.read_config(queue)))

    async def configure(self, /, queue: str, **changes: Any) -> QueueConfig:
        """Validates and writes settings (field names of QueueConfig); returns them all."""
        check_queue_name(queue)
        current = await self.config(queue)
        try:
            merged = QueueConfig.model_validate({**current.model_dump(), **changes})
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"]) or "config"
            raise InvalidArgumentError(
                f"{field}: {first['msg']} (got {first.get('input')!r})", field=field
            ) from exc
        fields = {k: v for k, v in merged.to_redis().items() if k in changes}
        await self.store.register_queues([queue])
        await self.store.run(writes.configure(queue, fields))
        return merged

    async def define_limiter(self, name: str, limit: int, period_ms: int = 1000) -> None:
        """A rate limit (``limit`` starts per ``period_ms``) shared by every queue whose
        ``rate_limiter`` setting names it (single Redis only: its key has its own slot)."""
        if not (
            isinstance(limit, int) and limit >= 1 and isinstance(period_ms, int) and period_ms >= 1
        ):
            raise InvalidArgumentError(
                "limiter: limit and period_ms must be integers >= 1", field="limiter"
            )
        QueueConfig(rate_limiter=name)  # validates the name
        await self.store.run(writes.define_limiter(name, limit, period_ms))

    async def pause(self, queue: str) -> None:
        await self.configure(queue, paused=True)

    async def resume(self, queue: str) -> None:
        await self.configure(queue, paused=False)

    # Cron schedules: runs enqueued by `run_scheduler` (see worker_runtime.cron.scheduler).
    # Imported on first use: producers and workers without schedules never load croniter.

    async def add_schedule(self, spec: ScheduleSpec) -> Schedule:
        """Creates or replaces the schedule ``spec.name`` (names are unique across queues;
        a new queue moves it). Everything is validated before anything is written."""
        from worker_runtime.cron import scheduler

        return await scheduler.add_schedule(self.store, spec)

    async def remove_schedule(self, name: str) -> bool:
        """Deletes a schedule and its state; False when there was none."""
        from worker_runtime.cron import scheduler

        return await scheduler.remove_schedule(self.store, name)

    async def schedules(self) -> list[Schedule]:
        """Every schedule with its state (last and next tick, runs, missed ticks)."""
        from worker_runtime.cron import scheduler

        return await scheduler.list_schedules(self.store)

    async def get_schedule(self, name: str) -> Schedule | None:
        from worker_runtime.cron import scheduler

        return await scheduler.get_schedule(self.store, name)

    async def trigger_schedule(self, name: str) -> Enqueued:
        """Enqueues one run now, outside the tick sequence."""
        from worker_runtime.cron import scheduler

        return await scheduler.trigger_schedule(self.store, name)

    async def suspend_schedule(self, name: str) -> bool:
        """Stops a schedule's runs (its ticks pass unrun); False if already suspended."""
        from worker_runtime.cron import scheduler

        return await scheduler.set_suspended(self.store, name, True)

    async def resume_schedule(self, name: str) -> bool:
        """Resumes a suspended schedule from its next tick; False if it was not suspended."""
        from worker_runtime.cron import scheduler

        return await scheduler.set_suspended(self.store, name, False)


def _queue_of(indexed: tuple[int, PreparedJob]) -> str:
    return indexed[1].queue


def _blocking(
    method: Callable[Concatenate[Client, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[SyncClient, P], R]:
    def call(self: SyncClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._call(method(self._client, *args, **kwargs))

    call.__doc__ = method.__doc__
    call.__name__ = method.__name__
    return call


class SyncClient:
    """The blocking twin of ``Client``: same methods, same arguments."""

    def __init__(self, url: str = DEFAULT_URL, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        try:
            self._client = self._call(self._make(url, options))
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            raise

    @staticmethod
    async def _make(url: str, options: dict[str, Any]) -> Client:
        return Client.from_url(url, **options)

    @classmethod
    def from_url(cls, url: str = DEFAULT_URL, **options: Any) -> SyncClient:
        return cls(url, **options)

    def _call(self, coro: Coroutine[Any, Any, R]) -> R:
        future: Future[R] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result()

    def run(self, op: operation.Op[R]) -> R:
        """Runs one engine operation (tests, tools); see worker_runtime.engine.writes."""
        return self._call(self._client.store.run(op))

    def close(self) -> None:
        if self._loop.is_running():
            self._call(self._client.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    enqueue = _blocking(Client.enqueue)
    enqueue_many = _blocking(Client.enqueue_many)
    get_job = _blocking(Client.get_job)
    cancel = _blocking(Client.cancel)
    retry = _blocking(Client.retry)
    retry_dead = _blocking(Client.retry_dead)
    purge = _blocking(Client.purge)
    purge_dead = _blocking(Client.purge_dead)
    dead_letters = _blocking(Client.dead_letters)
    stats = _blocking(Client.stats)
    queues = _blocking(Client.queues)
    config = _blocking(Client.config)
    configure = _blocking(Client.configure)
    define_limiter = _blocking(Client.define_limiter)
    pause = _blocking(Client.pause)
    resume = _blocking(Client.resume)
    add_schedule = _blocking(Client.add_schedule)
    remove_schedule = _blocking(Client.remove_schedule)
    schedules = _blocking(Client.schedules)
    get_schedule = _blocking(Client.get_schedule)
    trigger_schedule = _blocking(Client.trigger_schedule)
    suspend_schedule = _blocking(Client.suspend_schedule)
    resume_schedule = _blocking(Client.resume_schedule)
