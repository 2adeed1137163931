"""Queue-level reads for every view of a queue (the Prometheus exporter, the operator, the
web dashboard): depth by state, oldest pending age, jobs enqueued, live workers per queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker_runtime.engine import reads
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.operation import Op
from worker_runtime.engine.store import AsyncStore
from worker_runtime.models import QueueStats


@dataclass(frozen=True)
class QueueOverview:
    """One queue at one moment, as its queue-level metrics show it."""

    stats: QueueStats
    #: Jobs created since the queue was made (it resets when the queue is deleted), by
    #: (job name, priority number 0-10): what enqueue.lua and fire.lua count.
    enqueued: Mapping[tuple[str, int], int]
    #: Live workers (a heartbeat within the last minute) that claim from the queue.
    workers_active: int

    @property
    def queue(self) -> str:
        return self.stats.queue


def enqueue_counts(queue: str) -> Op[dict[tuple[str, int], int]]:
    """Jobs created per (job name, priority), from the counters the enqueue script keeps."""

    def parse(r: list[Any]) -> dict[tuple[str, int], int]:
        counts = {}
        for field, count in dict(r[0]).items():
            priority, _, name = str(field).partition("\n")
            counts[(name, int(priority))] = int(count)
        return counts

    return Op(parse, commands=[("HGETALL", QueueKeys.of(queue).enqueued)])


def workers_per_queue(descriptions: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many live workers claim from each queue (a worker may serve several)."""
    counts: Counter[str] = Counter()
    for worker in descriptions:
        counts.update(set(worker.get("queues") or ()))
    return dict(counts)


async def live_worker_descriptions(store: AsyncStore) -> list[dict[str, Any]]:
    """The descriptions of the workers in the heartbeat registry whose entry is still
    fresh (a description expires a minute after the worker's last heartbeat)."""
    names = await store.run(reads.live_workers())
    return await store.run(reads.worker_descriptions(names)) if names else []


async def queue_overviews(store: AsyncStore, queues: Sequence[str]) -> list[QueueOverview]:
    """Every queue of ``queues``: one pipeline of stats scripts, one read of the counters
    per queue, and the worker registry once."""
    if not queues:
        return []
    stats = await store.run_many([reads.stats(q) for q in queues])
    workers = workers_per_queue(await live_worker_descriptions(store))
    out = []
    for queue, s in zip(queues, stats, strict=True):
        counts = await store.run(enqueue_counts(queue))
        out.append(QueueOverview(s, counts, workers.get(queue, 0)))
    return out
