"""The queue-level Prometheus series, exported by one process only (``blackroad exporter``,
or the operator through ``queue_families``), so that ``sum()`` over them is right.

Workers export what only they know (durations, failures, latency, jobs in flight); the
figures every process could read from Redis (depth, enqueued, live workers, the oldest
pending age) come from here, read from Redis at each scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from worker_runtime.engine.connection import connect_async
from worker_runtime.engine.keys import STATE_SETS
from worker_runtime.engine.overview import QueueOverview, queue_overviews
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore

log = logging.getLogger(__name__)

#: A scrape waits this long for Redis before it reports ``blackroad_redis_up 0``.
SCRAPE_TIMEOUT_S = 10.0


def queue_families(overviews: Iterable[QueueOverview]) -> list[Metric]:
    """The queue-level series of ``overviews``; the one definition of their names, types
    and labels (the priority label is the level's number, 0-10, as the workers' is)."""
    depth = GaugeMetricFamily(
        "blackroad_queue_depth", "Jobs per queue and state", labels=["queue", "state"]
    )
    enqueued = CounterMetricFamily(
        "blackroad_jobs_enqueued",
        "Jobs created since the queue was made, kept in Redis by the enqueue script",
        labels=["queue", "job_name", "priority"],
    )
    workers = GaugeMetricFamily(
        "blackroad_workers_active",
        "Live workers (heartbeat within a minute) claiming from the queue",
        labels=["queue"],
    )
    oldest = GaugeMetricFamily(
        "blackroad_queue_oldest_pending_age_seconds",
        "How long the oldest pending job has waited (0 when none is pending)",
        labels=["queue"],
    )
    paused = GaugeMetricFamily("blackroad_queue_paused", "1 while paused", labels=["queue"])
    for o in overviews:
        q = o.queue
        for state in STATE_SETS:
            depth.add_metric([q, state], float(getattr(o.stats, state)))
        for (job_name, priority), count in sorted(o.enqueued.items()):
            enqueued.add_metric([q, job_name, str(priority)], float(count))
        workers.add_metric([q], float(o.workers_active))
        oldest.add_metric([q], (o.stats.oldest_pending_age_ms or 0) / 1000)
        paused.add_metric([q], 1.0 if o.stats.paused else 0.0)
    return [depth, enqueued, workers, oldest, paused]


def redis_up(up: bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "blackroad_redis_up", "1 when the last read of Redis succeeded", value=1.0 if up else 0.0
    )


class QueueCollector(Collector):
    """Reads every queue (or ``queues``) from Redis at each scrape, on ``loop``, the event
    loop that owns ``store`` (prometheus-client scrapes from its own threads)."""

    def __init__(
        self, store: AsyncStore, loop: asyncio.AbstractEventLoop, queues: Sequence[str] = ()
    ) -> None:
        self.store = store
        self.loop = loop
        self.queues = list(queues)
        # One scrape at a time: two Prometheus servers need not double the load on Redis.
        self._lock = threading.Lock()

    async def _read(self) -> list[QueueOverview]:
        queues = self.queues or await self.store.queues()
        return await queue_overviews(self.store, queues)

    def collect(self) -> Iterable[Metric]:
        started = time.monotonic()
        with self._lock:
            future = asyncio.run_coroutine_threadsafe(self._read(), self.loop)
            try:
                overviews = future.result(timeout=SCRAPE_TIMEOUT_S)
            except (*REDIS_DOWN, TimeoutError) as exc:
                future.cancel()
                log.warning("cannot read Redis: %s", exc)
                yield redis_up(False)
                return
        yield redis_up(True)
        yield from queue_families(overviews)
        yield GaugeMetricFamily(
            "blackroad_exporter_scrape_seconds",
            "How long the last read of Redis took",
            value=time.monotonic() - started,
        )


def serve(url: str, port: int, queues: Sequence[str] = (), addr: str = "0.0.0.0") -> None:
    """``blackroad exporter``: serves ``/metrics`` on ``port`` until SIGTERM or Ctrl-C."""
    loop = asyncio.new_event_loop()
    store = AsyncStore(connect_async(url))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(store, loop, queues))
    server, thread = start_http_server(port, addr=addr, registry=registry)
    log.info("serving queue metrics on %s:%d/metrics", addr, server.server_port)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with contextlib.suppress(*REDIS_DOWN):
            loop.run_until_complete(store.redis.aclose())
        loop.close()
