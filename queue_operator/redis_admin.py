"""The operator's only door to Redis: queue config, depth, backlog, safety checks, claims.

URLs come from Secrets and carry credentials: they are used here and never logged,
stored in status or put in error messages (errors are reduced to their type and text).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import redis.exceptions

from queue_operator.reconcile.jobqueue import RedisHealth
from worker_runtime.client import Client
from worker_runtime.cron.scheduler import run_scheduler
from worker_runtime.cron.schedules import Schedule, ScheduleSpec
from worker_runtime.engine import owners, reads
from worker_runtime.engine.keys import QUEUES, QueueKeys
from worker_runtime.engine.overview import QueueOverview, queue_overviews
from worker_runtime.errors import InvalidArgumentError, QueueError, RedisUnavailableError
from worker_runtime.models import QueueStats
from worker_runtime.queue_config import QueueConfig

log = logging.getLogger("blackroad.operator")

#: Seconds to wait for Redis before calling it unreachable.
TIMEOUT = 3.0


class RedisAdminError(Exception):
    """Redis could not be used; the message is safe to show (no URL, no password)."""


class ScheduleRejectedError(Exception):
    """The engine refused a schedule's definition (e.g. a payload over the queue's limit)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        #: The engine's name of the field at fault (InvalidArgumentError.field), if known.
        self.field = field


@dataclass(frozen=True)
class Backlog:
    pending: int
    running: int
    delayed_due: int

    @property
    def total(self) -> int:
        return self.pending + self.running + self.delayed_due


def fingerprint(url: str) -> str:
    """A short, non-reversible id of a Redis URL (for logs and metrics labels)."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


class RedisAdmin:
    """One cached client per Redis URL."""

    def __init__(self) -> None:
        self._clients: dict[str, Client] = {}

    def client(self, url: str) -> Client:
        found = self._clients.get(url)
        if found is None:
            found = Client.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
            self._clients[url] = found
        return found

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            await c.close()

    async def _call(self, coro: Any) -> Any:
        try:
            return await asyncio.wait_for(coro, TIMEOUT * 2)
        except (redis.exceptions.RedisError, RedisUnavailableError, OSError, TimeoutError) as exc:
            raise RedisAdminError(_safe(exc)) from None

    async def health(self, url: str) -> RedisHealth:
        conn = self.client(url).store.redis
        try:
            await self._call(conn.ping())
        except RedisAdminError as exc:
            return RedisHealth(reachable=False, error=str(exc))
        try:
            aof = await self._call(conn.config_get("appendonly"))
            policy = await self._call(conn.config_get("maxmemory-policy"))
        except RedisAdminError as exc:
            return RedisHealth(reachable=True, config_denied=str(exc))
        return RedisHealth(
            reachable=True,
            aof=aof.get("appendonly") == "yes",
            eviction_policy=policy.get("maxmemory-policy"),
        )

    async def read_config(self, url: str, queue: str) -> dict[str, Any]:
        """The stored settings; {} when none are stored yet (so all get written once)."""
        client = self.client(url)
        if not await self._call(client.store.redis.exists(QueueKeys.of(queue).config)):
            return {}
        config: QueueConfig = await self._call(client.config(queue))
        return config.model_dump()

    async def apply_config(self, url: str, queue: str, changes: dict[str, Any]) -> None:
        if changes:
            await self._call(self.client(url).configure(queue, **changes))

    async def stats(self, url: str, queue: str) -> QueueStats:
        # Not Client.stats: that refuses a queue nothing has created yet, which a new
        # JobQueue's first pass may observe before its config is written.
        store = self.client(url).store
        result: QueueStats = await self._call(store.run(reads.stats(queue)))
        return result

    async def overview(self, url: str, queue: str) -> QueueOverview:
        """The queue's stats (as ``stats``), enqueue counters and live workers: what the
        operator exports as the queue-level metrics."""
        overviews = await self._call(queue_overviews(self.client(url).store, [queue]))
        result: QueueOverview = overviews[0]
        return result

    async def backlog(self, url: str, queue: str, horizon_ms: int) -> Backlog:
        """Pending + running + delayed jobs due within ``horizon_ms`` (Redis clock)."""
        conn = self.client(url).store.redis
        keys = QueueKeys.of(queue)

        async def read() -> Backlog:
            seconds, micros = await conn.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            async with conn.pipeline(transaction=False) as pipe:
                pipe.zcard(keys.pending)
                pipe.zcard(keys.running)
                pipe.zcount(keys.delayed, "-inf", now_ms + horizon_ms)
                pending, running, due = await pipe.execute()
            return Backlog(int(pending), int(running), int(due))

        result: Backlog = await self._call(read())
        return result

    async def workers_in_flight(self, url: str) -> dict[str, int]:
        """Worker name -> jobs it held at its last heartbeat (the engine's worker registry)."""
        store = self.client(url).store
        names: list[str] = await self._call(store.run(reads.live_workers()))
        if not names:
            return {}
        described: list[dict[str, Any]] = await self._call(
            store.run(reads.worker_descriptions(names))
        )
        return {str(d.get("name")): int(d.get("in_flight") or 0) for d in described}

    async def claim(self, url: str, queue: str, owner: str) -> str:
        """Claims ``queue`` for ``owner`` unless someone holds it; returns the holder."""
        holder: str = await self._call(self.client(url).store.run(owners.claim(queue, owner)))
        return holder

    async def replace_claim(self, url: str, queue: str, stale: str, owner: str) -> bool:
        done: bool = await self._call(
            self.client(url).store.run(owners.replace(queue, stale, owner))
        )
        return done

    async def release(self, url: str, queue: str, owner: str) -> None:
        await self._call(self.client(url).store.run(owners.release(queue, owner)))

    async def delete_queue(self, url: str, queue: str) -> None:
        """Purges every job and key of ``queue``, its config included (deletionPolicy Delete)."""
        client = self.client(url)
        await self._call(client.purge(queue))
        conn = client.store.redis
        keys = QueueKeys.of(queue)
        await self._call(conn.delete(*keys.all_keys()))
        await self._call(conn.srem(QUEUES, queue))

    async def get_schedule(self, url: str, name: str) -> Schedule | None:
        """The stored schedule; None when there is none (or ``name`` could never be stored)."""
        try:
            found: Schedule | None = await self._call(self.client(url).get_schedule(name))
        except InvalidArgumentError:
            return None
        return found

    async def upsert_schedule(self, url: str, spec: ScheduleSpec) -> Schedule:
        """Creates or replaces the engine schedule (same timing keeps its cursor and counters)."""
        try:
            stored: Schedule = await self._call(self.client(url).add_schedule(spec))
        except QueueError as exc:
            field = exc.field if isinstance(exc, InvalidArgumentError) else None
            raise ScheduleRejectedError(str(exc), field) from None
        return stored

    async def remove_schedule(self, url: str, name: str) -> bool:
        try:
            removed: bool = await self._call(self.client(url).remove_schedule(name))
        except InvalidArgumentError:
            return False  # a name the engine refuses was never stored
        return removed

    async def run_scheduler(self, url: str, stop: asyncio.Event, interval_s: float) -> None:
        """The engine's scheduler loop on ``url`` until ``stop`` is set (it rides out outages)."""
        log.info("Scheduler started for Redis %s", fingerprint(url))
        try:
            await run_scheduler(self.client(url).store, stop, interval_s=interval_s)
        finally:
            log.info("Scheduler stopped for Redis %s", fingerprint(url))


def _safe(exc: BaseException) -> str:
    # redis-py messages name host and port at most, never the password; keep only the text.
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
