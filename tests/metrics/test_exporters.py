"""Who exports what: workers only worker-level series (with the design's bucket bounds), the
exporter and the operator the queue-level ones, under one definition."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import queue_operator.metrics as operator_metrics
from queue_operator.metrics import OperatorMetrics
from worker_runtime import Client, JobSpec
from worker_runtime.engine import writes
from worker_runtime.engine.overview import QueueOverview
from worker_runtime.engine.store import AsyncStore
from worker_runtime.exporter import QueueCollector
from worker_runtime.models import QueueStats
from worker_runtime.worker.metrics import DURATION_BUCKETS, LATENCY_BUCKETS, WorkerMetrics

QUEUE_LEVEL = {
    "blackroad_queue_depth",
    "blackroad_jobs_enqueued",
    "blackroad_workers_active",
    "blackroad_queue_oldest_pending_age_seconds",
    "blackroad_queue_paused",
}


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_workers_export_no_queue_level_series() -> None:
    names = {m.name for m in WorkerMetrics().registry.collect()}
    assert names == {
        "blackroad_jobs_completed",
        "blackroad_jobs_failed",
        "blackroad_job_duration_seconds",
        "blackroad_queue_latency_seconds",
        "blackroad_worker_jobs_processing",
        "blackroad_worker_concurrency",
    }
    assert not names & QUEUE_LEVEL


def test_the_histograms_have_the_design_bounds() -> None:
    assert 600 in DURATION_BUCKETS
    assert {10, 60, 300} <= set(LATENCY_BUCKETS)


def _overview(queue: str, dead: int) -> QueueOverview:
    stats = QueueStats(queue, 3, 1, 2, 10, dead, 0, 4500, False)
    return QueueOverview(stats, {("resize", 5): 16, ("resize", 0): 2}, 2)


def test_the_operator_exports_the_queue_level_series_of_its_passes() -> None:
    metrics = OperatorMetrics()
    metrics.set_queue("images", _overview("images", 4), reachable=True)
    metrics.set_pool("default", "images", {"desiredReplicas": 3, "readyReplicas": 2})
    metrics.reconciled("JobQueue", "Ready")
    found = samples(metrics.registry)
    assert found[("blackroad_queue_depth", (("queue", "images"), ("state", "dead")))] == 4
    key = (("job_name", "resize"), ("priority", "0"), ("queue", "images"))
    assert found[("blackroad_jobs_enqueued_total", key)] == 2
    assert found[("blackroad_workers_active", (("queue", "images"),))] == 2
    age = ("blackroad_queue_oldest_pending_age_seconds", (("queue", "images"),))
    assert found[age] == 4.5
    assert found[("blackroad_redis_up", ())] == 1
    pool = (("namespace", "default"), ("workerpool", "images"))
    assert found[("blackroad_workerpool_desired_replicas", pool)] == 3
    assert found[("blackroad_workerpool_ready_replicas", pool)] == 2
    assert found[
        ("blackroad_operator_reconciles_total", (("kind", "JobQueue"), ("reason", "Ready")))
    ]
    metrics.set_queue("images", None, reachable=False)  # Redis down: the last figures stay
    found = samples(metrics.registry)
    assert found[("blackroad_redis_up", ())] == 0
    assert found[("blackroad_queue_depth", (("queue", "images"), ("state", "dead")))] == 4
    metrics.forget_queue("images")
    assert not any(name == "blackroad_queue_depth" for name, _ in samples(metrics.registry))


def test_a_replica_that_stopped_passing_stops_exporting_queue_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metrics = OperatorMetrics()
    metrics.set_queue("images", _overview("images", 4), reachable=True)
    monkeypatch.setattr(operator_metrics, "STALE_AFTER_S", -1.0)
    assert not any(name.startswith("blackroad_queue") for name, _ in samples(metrics.registry))


async def test_the_exporter_reads_redis_at_each_scrape(client: Client, redis_url: str) -> None:
    await client.enqueue_many([JobSpec("images", "resize", {}) for _ in range(3)])
    await client.store.run(writes.worker_beat("w1", {"queues": ["images"]}, 60_000))
    loop = asyncio.get_running_loop()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(AsyncStore(client.store.redis), loop))
    # The HTTP server scrapes from its own thread while this loop keeps running.
    found = await asyncio.to_thread(samples, registry)
    assert found[("blackroad_queue_depth", (("queue", "images"), ("state", "pending")))] == 3
    key = (("job_name", "resize"), ("priority", "5"), ("queue", "images"))
    assert found[("blackroad_jobs_enqueued_total", key)] == 3
    assert found[("blackroad_workers_active", (("queue", "images"),))] == 1
    assert found[("blackroad_redis_up", ())] == 1
    broken = CollectorRegistry(auto_describe=False)
    down = AsyncStore(type(client.store.redis).from_url("redis://127.0.0.1:1/0"))
    broken.register(QueueCollector(down, loop, ["images"]))
    found = await asyncio.to_thread(samples, broken)
    assert found == {("blackroad_redis_up", ()): 0}
    await down.redis.aclose()
