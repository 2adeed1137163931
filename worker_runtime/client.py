"""The producer's API: enqueue jobs, inspect and steer them, read queue stats.

``Client`` is asyncio; ``SyncClient`` offers the same methods blocking, by running a
``Client`` on a private event loop thread (so it also works inside a running loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections import defaultdict
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import pydantic

from worker_runtime.engine import events as job_events
from worker_runtime.engine import operation, reads, writes
from worker_runtime.engine.chunking import chunk_groups, group_by_queue
from worker_runtime.engine.connection import DEFAULT_URL, connect_async
from worker_runtime.engine.keys import STATE_SETS, QueueKeys
from worker_runtime.engine.prepare import PreparedJob, new_job_id, prepare_many
from worker_runtime.engine.store import AsyncStore, Durability
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import (
    InvalidArgumentError,
    JobCancelledError,
    JobDeadError,
    JobNotFoundError,
    PayloadTooLargeError,
    QueueBusyError,
    QueueNotFoundError,
    WaitTimeoutError,
)
from worker_runtime.models import (
    Dependency,
    DependencyPolicy,
    Enqueued,
    Job,
    JobEvent,
    JobSpec,
    JobState,
    Priority,
    QueueConfig,
    QueueStats,
)

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

    from worker_runtime.cron.schedules import Schedule, ScheduleSpec

P = ParamSpec("P")
R = TypeVar("R")


#: Longest a waiter trusts the completion channel alone before it reads the job again
#: (a notification sent while its connection was down would otherwise be missed).
WAIT_RECHECK_S = 5.0


class Client:
    """Asynchronous client of the queue engine."""

    def __init__(self, store: AsyncStore, *, durable: Durability | None = None) -> None:
        self.store = store
        #: When set, every enqueue waits for a replica's confirmation (see ``from_url``).
        self.durable = durable

    @classmethod
    def from_url(
        cls,
        url: str = DEFAULT_URL,
        *,
        durable: bool = False,
        durable_timeout: float = 1.0,
        **options: Any,
    ) -> Client:
        """A client of the Redis at ``url`` (see ``engine.urls``). ``durable=True`` makes an
        enqueue return only once a replica holds it (Redis ``WAIT``, at most
        ``durable_timeout`` seconds, else ``NotReplicatedError``), so a failover cannot lose
        an acknowledged job; it costs a replication round trip per enqueue call."""
        wait = Durability(1, max(1, round(durable_timeout * 1000))) if durable else None
        return cls(AsyncStore(connect_async(url, **options)), durable=wait)

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
        run_at: float | datetime | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        dedupe_key: str | None = None,
        job_id: str | None = None,
        rate_key: str | None = None,
        depends_on: Sequence[Dependency] | None = None,
        on_dependency_failure: DependencyPolicy = "cancel",
    ) -> Enqueued:
        """Adds one job. ``delay`` is in seconds from now; ``run_at`` a Unix time in
        seconds or a timezone-aware datetime; ``timeout`` in seconds; ``rate_key`` (a
        tenant, an external API) is subject to the queue's per-key rate limit and running
        cap. With ``depends_on`` (ids of jobs of the same queue, or ``(queue, id)`` pairs
        for jobs of other queues on the same Redis) the job waits until each has
        completed; ``on_dependency_failure`` says what it does when one ends dead or
        cancelled: "cancel" (with it, reason DependencyFailed), "run" or "wait" (for a
        retry). Raises before writing anything when an argument or the payload is invalid,
        over the queue's size limit, or a dependency is unknown (field ``depends_on``)."""
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
        pubsub = self.store.redis.pubsub()
        try:
            # Subscribed before the first read, so a completion in between is not missed.
            await self.store.call(pubsub.subscribe(QueueKeys.of(queue).done))
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
                await self.store.call(_next_mention(pubsub, job_id, min(left, WAIT_RECHECK_S)))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py

    def events(self, queues: Sequence[str]) -> AsyncGenerator[JobEvent, None]:
        """The job events of ``queues`` as they happen (enqueued, started, progress,
        completed, failed, retried, dead, cancelled, released), from the moment of
        subscription: ``async for e in client.events(["emails"])``. Live and at-most-once (a
        disconnected listener misses events); a queue nobody listens to pays next to
        nothing for it."""
        return job_events.listen(self.store, queues)

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

    async def require_queue(self, queue: str) -> None:
        """Raises QueueNotFoundError unless ``queue`` was ever configured or enqueued to."""
        check_queue_name(queue)
        if not await self.store.run(reads.queue_exists(queue)):
            raise QueueNotFoundError(
                f"queue {queue!r}: no such queue; 'blackroad queue list' shows them"
            )

    async def stats(self, queue: str) -> QueueStats:
        """Job counts of an existing queue (QueueNotFoundError for an unknown name)."""
        await self.require_queue(queue)
        return await self.store.run(reads.stats(queue))

    async def delete_queue(self, queue: str, force: bool = False) -> int:
        """Deletes every key of ``queue`` and its registry entry; returns how many jobs went.
        Refused (QueueBusyError) while live workers claim from it or jobs run, unless
        ``force``, and while cron schedules enqueue to it."""
        await self.require_queue(queue)
        if not force:
            names = await self.store.run(reads.live_workers())
            found = await self.store.run(reads.worker_descriptions(names)) if names else []
            claiming = [str(w.get("name")) for w in found if queue in (w.get("queues") or [])]
            if claiming:
                raise QueueBusyError(
                    f"queue {queue!r}: workers claim from it ({', '.join(sorted(claiming))}); "
                    "stop them first, or --force"
                )
        deleted = await self.store.run(writes.drop_queue(queue, force))
        await self.store.unregister_queue(queue)
        return deleted

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


async def _next_mention(pubsub: PubSub, job_id: str, seconds: float) -> None:
    """Returns when a completion message names ``job_id``, or after ``seconds``."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while (left := until - loop.time()) > 0:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
        if message is not None and job_id in str(message["data"]).split("\n"):
            return


async def _next_event(stream: AsyncGenerator[JobEvent, None]) -> JobEvent:
    return await anext(stream)


async def _close_stream(stream: AsyncGenerator[JobEvent, None]) -> None:
    """Unsubscribes, once a step cancelled from another thread has finished unwinding."""
    while getattr(stream, "ag_running", False):
        await asyncio.sleep(0.01)
    await stream.aclose()


def _given_id(job: PreparedJob) -> str:
    """`` of job ID`` when the caller chose the id; a generated one names nothing real."""
    return "" if job.generated_id else f" of job {job.id}"


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

    def events(self, queues: Sequence[str]) -> Generator[JobEvent, None, None]:
        """Client.events, blocking: one event per iteration; closing the iterator (or
        leaving the loop) unsubscribes."""
        stream = self._client.events(queues)
        try:
            while True:
                step = asyncio.run_coroutine_threadsafe(_next_event(stream), self._loop)
                try:
                    yield step.result()
                except StopAsyncIteration:
                    return
                except BaseException:  # Ctrl-C in the caller's thread: stop the step too
                    step.cancel()
                    raise
        finally:
            with contextlib.suppress(Exception):
                self._call(_close_stream(stream))

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
    wait = _blocking(Client.wait)
    retry = _blocking(Client.retry)
    retry_dead = _blocking(Client.retry_dead)
    purge = _blocking(Client.purge)
    purge_dead = _blocking(Client.purge_dead)
    dead_letters = _blocking(Client.dead_letters)
    list_jobs = _blocking(Client.list_jobs)
    require_queue = _blocking(Client.require_queue)
    delete_queue = _blocking(Client.delete_queue)
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
