"""The client's changes to existing jobs, queues and cron schedules: cancel, retry, purge,
delete, configure, rate limiters, pause."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pydantic

from worker_runtime.client.core import ClientCore
from worker_runtime.engine import reads, writes
from worker_runtime.engine.keys import STATE_SETS
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import InvalidArgumentError, QueueBusyError
from worker_runtime.models import Enqueued
from worker_runtime.queue_config import QueueConfig

if TYPE_CHECKING:
    from worker_runtime.cron.schedules import Schedule, ScheduleSpec


class Managing(ClientCore):
    """Steers jobs, queues and schedules."""

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
        ``rate_limiter`` setting names it, on a Redis Cluster too (``engine.limits``)."""
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
