"""The worker's Prometheus collectors (names from DESIGN.md), in a registry of its own."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
_LATENCY_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.enqueued = Counter(
            "blackroad_jobs_enqueued",
            "Jobs enqueued",
            ["queue", "job_name", "priority"],
            registry=r,
        )
        self.completed = Counter(
            "blackroad_jobs_completed",
            "Jobs finished by this worker, by final status",
            ["queue", "job_name", "status"],
            registry=r,
        )
        self.failed = Counter(
            "blackroad_jobs_failed",
            "Failed attempts",
            ["queue", "job_name", "error_type"],
            registry=r,
        )
        self.duration = Histogram(
            "blackroad_job_duration_seconds",
            "Handler run time",
            ["queue", "job_name"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.depth = Gauge(
            "blackroad_queue_depth", "Jobs per queue and state", ["queue", "state"], registry=r
        )
        self.latency = Histogram(
            "blackroad_queue_latency_seconds",
            "Enqueue to start of the first attempt",
            ["queue", "priority"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.workers_active = Gauge(
            "blackroad_workers_active",
            "Live worker processes serving a queue",
            ["queue"],
            registry=r,
        )
        self.processing = Gauge(
            "blackroad_worker_jobs_processing",
            "Jobs this worker is running",
            ["worker_name"],
            registry=r,
        )

    def of(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: prometheus-client validates labels on every
        call, which costs several percent of a busy worker's time."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child
