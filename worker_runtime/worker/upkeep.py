"""The worker's upkeep loops: lease heartbeats, recovery of dead workers' jobs, job
timeouts, config refresh and depth gauges, and the pub/sub wake-up listener."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from worker_runtime.engine import reads, writes
from worker_runtime.engine.chunking import chunk_by_queue
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.engine.subscription import Subscription
from worker_runtime.models import StoredConfig
from worker_runtime.worker.inflight import InFlight, StopReason, leases, queue_of
from worker_runtime.worker.settings import QueueSettings

log = logging.getLogger("blackroad.worker")

#: How often the queue config (default timeout) and depth gauges are refreshed.
REFRESH_S = 5.0
#: How often async handlers' deadlines are checked.
TIMEOUT_TICK_S = 0.05


@dataclass
class Upkeep:
    """The background loops of one worker; each runs until ``close``."""

    store: AsyncStore
    worker_name: str
    queues: list[str]
    inflight: InFlight
    settings: QueueSettings
    #: Set when any of the queues gets work.
    wake: asyncio.Event
    #: The worker's registry entry, written with each heartbeat.
    describe: Callable[[], dict[str, object]]
    #: Told after each heartbeat round whether Redis answered.
    on_beat: Callable[[bool], None]
    closing: bool = False

    def close(self) -> None:
        """The loops end at their next check; cancel their tasks to end them sooner."""
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    async def heartbeat_loop(self) -> None:
        last, failing = 0.0, False
        while not self.closing:
            # The lease is learnt from the first claim, so re-read it at least every 0.5 s.
            interval = self.settings.shortest_lease_ms() / 3000
            await asyncio.sleep(max(0.0, min(0.5, last + interval - time.monotonic())))
            if time.monotonic() - last < interval:
                continue
            last = time.monotonic()
            try:
                await self.heartbeat()
                await self.store.run(writes.worker_beat(self.worker_name, self.describe(), 60_000))
            except REDIS_DOWN as exc:
                self.on_beat(False)
                if not failing:  # once per outage; each try would log every lease/3
                    log.warning("heartbeat failed, retrying until Redis serves it: %s", exc)
                failing = True
                continue
            self.on_beat(True)
            if failing:
                log.info("heartbeat stored again")
            failing = False

    async def heartbeat(self) -> None:
        """Extends the lease of every held job; stops those lost or cancelled meanwhile."""
        chunks = chunk_by_queue(self.inflight.jobs(), queue_of)
        if not chunks:
            return
        calls = [writes.heartbeat(q, self.settings.lease_ms[q], leases(c)) for q, c in chunks]
        replies = await self.store.run_many(calls)
        for (queue, _), (lost, cancelled) in zip(chunks, replies, strict=True):
            marked: list[tuple[str, StopReason]] = [(i, "lost") for i in lost]
            marked += [(i, "cancelled") for i in cancelled]
            for job_id, reason in marked:
                held = self.inflight.get(queue, job_id)
                if held is None or not held.running:
                    continue
                log.warning("job %s of %s: %s, stopping it", job_id, queue, reason)
                self.inflight.stop(held, reason)

    async def timeout_loop(self) -> None:
        """Cancels async handlers past their deadline."""
        while not self.closing:
            await asyncio.sleep(TIMEOUT_TICK_S)
            self.inflight.expire(time.monotonic())

    async def recover_loop(self) -> None:
        # The first call at once: it starts the stall guard's clock (recover.lua), which
        # cannot tell a Redis pause from none before a call is recorded. Its threshold
        # comes from the config read before the loops start, later ones from the leases
        # the claims grant.
        pause = 0.0
        while not self.closing:
            await asyncio.sleep(pause)
            interval = min(1.0, self.settings.shortest_lease_ms() / 4000)
            pause = interval * random.uniform(0.8, 1.2)
            for queue in self.queues:
                stall_ms = max(int(interval * 4000), self.settings.lease_ms[queue] // 2)
                try:
                    requeued, dead, _ = await self.store.run(writes.recover(queue, 500, stall_ms))
                except REDIS_DOWN:
                    continue
                if requeued or dead:
                    log.warning("recovered %d expired jobs of %s (%d dead)", requeued, queue, dead)

    async def refresh_loop(self) -> None:
        while not self.closing:
            await self.refresh_configs()
            await asyncio.sleep(REFRESH_S)

    async def refresh_configs(self) -> None:
        """Reads every queue's config (a queue Redis cannot serve now keeps its last)."""
        for queue in self.queues:
            try:
                raw = await self.store.run(reads.read_config(queue))
                self.settings.update_config(queue, StoredConfig.from_redis(raw))
            except REDIS_DOWN:
                continue

    async def listen(self) -> None:
        """Sets ``wake`` when any of our queues gets work (Redis pub/sub; on a cluster,
        sharded on each queue's master, followed across failovers)."""
        channels = [QueueKeys.of(q).wake for q in self.queues]
        while not self.closing:
            try:
                async with Subscription(self.store, channels) as subscription:
                    while not self.closing:
                        if await subscription.get(5.0) is not None:
                            self.wake.set()
            except REDIS_DOWN:
                await asyncio.sleep(0.5)
