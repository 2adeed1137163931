"""What the pages show, read through the client and the engine's read operations only."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from dashboard.views import age, rate
from worker_runtime.client import Client
from worker_runtime.engine import activity, overview, reads
from worker_runtime.models import Job, JobState, QueueStats

#: How far back the rates look.
RATE_WINDOW_MS = 60_000
#: The overview is read from Redis at most this often, however many pages poll it.
REFRESH_S = 1.0
PAGE_SIZES = (25, 50, 100, 200)


@dataclass
class QueueRow:
    stats: QueueStats
    enqueue_rate: float | None
    completion_rate: float | None
    #: Jobs enqueued since the queue was made (its enqueue counters); None when not read.
    enqueued: int | None = None

    def live(self) -> dict[str, Any]:
        """The figures the page refreshes by itself, by field name, as display text (the
        script only sets text)."""
        s = self.stats
        return {
            **{state: f"{getattr(s, state):,}" for state in JobState},
            "oldest": age(s.oldest_pending_age_ms),
            "paused": "paused" if s.paused else "running",
            "enqueued": "-" if self.enqueued is None else f"{self.enqueued:,}",
            "enqueue_rate": rate(self.enqueue_rate),
            "completion_rate": rate(self.completion_rate),
        }


Series = deque[tuple[int, int]]


@dataclass
class _Flow:
    """A queue's last snapshot, and two running totals by Redis ms: jobs enqueued since the
    first read, and jobs completed since a minute before it."""

    last: activity.Activity
    enqueued: Series
    completed: Series


def _per_second(series: Series) -> float:
    """The total's change over the last minute (from the newest sample at or before its
    start), per second; older samples are dropped."""
    now_ms = series[-1][0]
    while len(series) > 2 and series[1][0] <= now_ms - RATE_WINDOW_MS:
        series.popleft()
    (start, first), (_, last) = series[0], series[-1]
    return (last - first) * 1000 / max(1, now_ms - start)


class Rates:
    """Enqueue and completion rates over the last minute, from successive ``activity`` reads.

    Enqueues are the change of the queue's enqueue counters, so a purge, a dedupe hit or a
    retry does not move them; completions are counted by their finish time.
    """

    def __init__(self) -> None:
        self._flows: dict[str, _Flow] = {}

    def seen(self, queue: str) -> bool:
        return queue in self._flows

    def since_ms(self, queue: str, redis_now_ms: int) -> int:
        """Finishes after this instant are new to us: since the last read, or for a queue
        read for the first time, the last minute (by the Redis clock, as finish times are)."""
        flow = self._flows.get(queue)
        return flow.last.now_ms if flow else redis_now_ms - RATE_WINDOW_MS

    def keep_only(self, queues: Collection[str]) -> None:
        """Forgets the queues gone from the registry (deleted), so memory stays bounded."""
        for gone in self._flows.keys() - set(queues):
            del self._flows[gone]

    def add(self, queue: str, seen: activity.Activity) -> tuple[float | None, float | None]:
        flow = self._flows.get(queue)
        if flow is None:
            # The first read: the counters say nothing of when their jobs came, but finish
            # times do, so the completions of the last minute count at once.
            start = seen.now_ms - RATE_WINDOW_MS
            done = deque([(start, 0), (seen.now_ms, seen.completed)])
            self._flows[queue] = _Flow(seen, deque([(seen.now_ms, 0)]), done)
            return None, _per_second(done)
        grew = seen.enqueued - flow.last.enqueued
        # A smaller total: the queue was deleted and made again since, its counters from 0.
        added = grew if grew >= 0 else seen.enqueued
        flow.enqueued.append((seen.now_ms, flow.enqueued[-1][1] + added))
        flow.completed.append((seen.now_ms, flow.completed[-1][1] + seen.completed))
        flow.last = seen
        return _per_second(flow.enqueued), _per_second(flow.completed)


class Snapshot:
    """The queues overview, refreshed from Redis at most every REFRESH_S seconds."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.rates = Rates()
        self._rows: list[QueueRow] = []
        self._at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """The next read goes to Redis (an action just changed something)."""
        self._at = 0.0

    async def queues(self) -> list[QueueRow]:
        async with self._lock:
            if time.monotonic() - self._at >= REFRESH_S:
                self._rows = await self._read()
                self._at = time.monotonic()
            return self._rows

    async def _read(self) -> list[QueueRow]:
        """Every queue's row in two round trips (1,000 queues one by one took most of a second)."""
        queues = sorted(await self.client.queues())
        if not queues:
            return []
        store = self.client.store
        stats = await store.run_many([reads.stats(q) for q in queues])
        self.rates.keep_only(queues)
        # One more round trip only when a queue is new: its window ends at Redis's now.
        fresh = not all(self.rates.seen(q) for q in queues)
        now_ms = await store.run(activity.server_time_ms()) if fresh else 0
        since = {q: self.rates.since_ms(q, now_ms) for q in queues}
        seen = await store.run(activity.activity(since))
        return [
            QueueRow(s, *self.rates.add(s.queue, seen[s.queue]), seen[s.queue].enqueued)
            for s in stats
        ]


async def queue_row(client: Client, queue: str) -> QueueRow:
    """One queue's row without its rates (a queue the overview has not read yet)."""
    stats = await client.stats(queue)
    counts = await client.store.run(overview.enqueue_counts(queue))
    return QueueRow(stats, None, None, sum(counts.values()))


#: A job whose record and result hold more bytes than this is listed by id and size only:
#: a page of 200 half-megabyte payloads would be 100 MB read and decoded per view.
ROW_BYTES = 16_384


@dataclass(frozen=True)
class JobRow:
    id: str
    #: None for a heavy job (its page shows it, clipped).
    job: Job | None
    size: int


@dataclass(frozen=True)
class JobPage:
    state: str
    offset: int
    limit: int
    total: int
    rows: list[JobRow]


async def job_page(client: Client, queue: str, state: str, offset: int, limit: int) -> JobPage:
    """One page of a state set: only its ids and light records are read, whatever the set's
    size and the size of its payloads."""
    page = await client.store.run(activity.page(queue, state, offset, limit))
    found = await client.store.run(activity.sizes(queue, page.ids)) if page.ids else []
    light = [i for i, size in zip(page.ids, found, strict=True) if 0 < size <= ROW_BYTES]
    jobs = await client.store.run(reads.jobs_info(queue, light)) if light else []
    by_id = {j.id: j for j in jobs}
    rows = [
        JobRow(i, by_id.get(i), size)
        for i, size in zip(page.ids, found, strict=True)
        if i in by_id or size > ROW_BYTES  # else gone since the ids were read
    ]
    return JobPage(state, offset, limit, page.total, rows)


@dataclass(frozen=True)
class WorkerRow:
    name: str
    host: str
    queues: list[str]
    concurrency: int | None
    in_flight: int | None
    heartbeat_age_ms: int | None
    #: What of its description could not be read (written by anything but a worker).
    note: str = ""


def _count(value: Any) -> int | None:
    """A whole number of a description, or None for anything else (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except (ValueError, OverflowError):
        return None


def worker_row(described: dict[str, Any], now_ms: int) -> WorkerRow:
    """One worker's row: each field read on its own, so one bad field spoils only itself."""
    if "unreadable" in described:
        text = f"unreadable description: {described['unreadable']}"
        return WorkerRow(str(described.get("name", "")), "", [], None, None, None, text)
    queues = described.get("queues")
    queue_list = [str(q) for q in queues] if isinstance(queues, list) else []
    beat = _count(described.get("heartbeat_ms"))
    counts = ("concurrency", "in_flight", "heartbeat_ms")
    bad = [k for k in counts if k in described and _count(described[k]) is None]
    if "queues" in described and not isinstance(queues, list):
        bad.insert(0, "queues")
    return WorkerRow(
        name=str(described.get("name", "")),
        host=str(described.get("host", "")),
        queues=queue_list,
        concurrency=_count(described.get("concurrency")),
        in_flight=_count(described.get("in_flight")),
        heartbeat_age_ms=None if beat is None else max(0, now_ms - beat),
        note=f"unreadable: {', '.join(bad)}" if bad else "",
    )


async def workers(client: Client) -> list[WorkerRow]:
    """The live workers of the heartbeat registry, as ``blackroad worker status`` lists them."""
    names = await client.store.run(reads.live_workers())
    found = await client.store.run(reads.worker_descriptions(names)) if names else []
    now_ms = await client.store.run(activity.server_time_ms())
    return [worker_row(w, now_ms) for w in found]
