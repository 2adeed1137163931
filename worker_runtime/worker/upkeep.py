"""The worker's upkeep loops: lease heartbeats, recovery of dead workers' jobs, job
timeouts, config refresh and depth gauges, and the pub/sub wake-up listener."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from typing import TYPE_CHECKING

from worker_runtime.engine import reads, writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.models import QueueConfig

if TYPE_CHECKING:
    from worker_runtime.worker.loop import Worker

log = logging.getLogger("blackroad.worker")

#: How often the queue config (default timeout) and depth gauges are refreshed.
REFRESH_S = 5.0


async def heartbeat_loop(w: Worker) -> None:
    last = 0.0
    while not w._closing:
        # The lease is learnt from the first claim, so re-read it at least every 0.5 s.
        interval = min(w._lease_ms.values()) / 3000
        await asyncio.sleep(max(0.0, min(0.5, last + interval - time.monotonic())))
        if time.monotonic() - last < interval:
            continue
        last = time.monotonic()
        try:
            await heartbeat(w)
            await w.store.run(writes.worker_beat(w.name, w.describe(), 60_000))
            w.ready = not w.stopping.is_set()
        except REDIS_DOWN as exc:
            w.ready = False
            log.warning("heartbeat failed: %s", exc)


async def heartbeat(w: Worker) -> None:
    by_queue: dict[str, list[tuple[str, str]]] = {}
    for (queue, job_id), entry in list(w.held.items()):
        by_queue.setdefault(queue, []).append((job_id, entry.job.token))
    if not by_queue:
        return
    chunks = [
        (q, items[i : i + writes.MAX_BATCH])
        for q, items in by_queue.items()
        for i in range(0, len(items), writes.MAX_BATCH)
    ]
    replies = await w.store.run_many([writes.heartbeat(q, w._lease_ms[q], c) for q, c in chunks])
    for (queue, _), (lost, cancelled) in zip(chunks, replies, strict=True):
        marked = [(i, "lost") for i in lost] + [(i, "cancelled") for i in cancelled]
        for job_id, reason in marked:
            held = w.held.get((queue, job_id))
            if held is None or held.task is None or held.task.done():
                continue
            log.warning("job %s of %s: %s, stopping it", job_id, queue, reason)
            held.stop_reason = reason
            held.ctx.cancelled.set()
            if not held.batched:
                held.task.cancel()
            if reason == "lost":
                w.held.pop((queue, job_id), None)


async def timeout_loop(w: Worker) -> None:
    """Cancels async handlers past their deadline, checked every 50 ms."""
    while not w._closing:
        await asyncio.sleep(0.05)
        now = time.monotonic()
        if len(w._deadlines) > 2 * len(w.held) + 1000:
            # Finished jobs stay in the heap until their deadline; drop them in bulk.
            w._deadlines = [e for e in w._deadlines if e[2].task and not e[2].task.done()]
            heapq.heapify(w._deadlines)
        while w._deadlines and w._deadlines[0][0] <= now:
            _, _, held = heapq.heappop(w._deadlines)
            if held.task is not None and not held.task.done() and not held.stop_reason:
                held.stop_reason = "timeout"
                held.ctx.cancelled.set()
                held.task.cancel()


async def recover_loop(w: Worker) -> None:
    while not w._closing:
        interval = min(1.0, min(w._lease_ms.values()) / 4000)
        await asyncio.sleep(interval * random.uniform(0.8, 1.2))
        for queue in w.queues:
            stall_ms = max(int(interval * 4000), w._lease_ms[queue] // 2)
            try:
                requeued, dead, _ = await w.store.run(writes.recover(queue, 500, stall_ms))
            except REDIS_DOWN:
                continue
            if requeued or dead:
                log.warning("recovered %d expired jobs of %s (%d dead)", requeued, queue, dead)


async def refresh_loop(w: Worker) -> None:
    while not w._closing:
        for queue in w.queues:
            try:
                raw = await w.store.run(reads.read_config(queue))
                w._config[queue] = QueueConfig.from_redis(raw)
                stats = await w.store.run(reads.stats(queue))
            except REDIS_DOWN:
                continue
            for state in ("pending", "delayed", "running", "completed", "dead", "cancelled"):
                w.metrics.of(w.metrics.depth, queue, state).set(getattr(stats, state))
        await asyncio.sleep(REFRESH_S)


async def listen(w: Worker) -> None:
    """Sets the wake flag when any of our queues gets work (Redis pub/sub)."""
    channels = [QueueKeys.of(q).wake for q in w.queues]
    while not w._closing:
        pubsub = w.store.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*channels)
            while not w._closing:
                msg = await pubsub.get_message(timeout=5.0)
                if msg is not None:
                    w._wake.set()
        except REDIS_DOWN:
            await asyncio.sleep(0.5)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
