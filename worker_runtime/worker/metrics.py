"""What a worker reports about its jobs: nothing (``NoMetrics``, when no /metrics port is
served) or the worker-level Prometheus series of DESIGN.md in a registry of its own.

Queue-level series (depth, enqueued, workers active, the oldest pending age) are not here:
every worker would export the same figures and ``sum()`` would count them once per
process. The operator or ``blackroad exporter`` exports them (``worker_runtime.exporter``).
prometheus_client is imported only by ``WorkerMetrics``: a worker without a metrics port
neither loads it (about 12 MB) nor pays for an observation per job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

#: Seconds; include the design's 600 s bound, so ``le="600"`` finds a series.
DURATION_BUCKETS = (0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 900, 3600)
#: Seconds; include the design's 10, 60 and 300 s bounds.
LATENCY_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 3600)


class NoMetrics:
    """The worker's per-job reports, recorded nowhere."""

    def started(self, queue: str, priority: int, waited_s: float) -> None:
        """A job started ``waited_s`` after it became due."""

    def ran(self, queue: str, name: str, seconds: float) -> None:
        """A handler ran for ``seconds``."""

    def finished(self, queue: str, name: str, status: str, n: int = 1) -> None:
        """``n`` jobs reached ``status`` (completed, retried, dead, lease_lost, ...)."""

    def failed(self, queue: str, name: str, reason: str) -> None:
        """An attempt failed with ``reason``."""

    def watch(self, worker_name: str, busy: Callable[[], int], concurrency: int) -> None:
        """The busy slots are read from ``busy`` when scraped."""


class WorkerMetrics(NoMetrics):
    """The worker's Prometheus collectors."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry or CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.completed = Counter(
            "blackroad_jobs_completed",
            "Jobs finished by this worker, by final status",
            ["queue", "job_name", "status"],
            registry=r,
        )
        self.failures = Counter(
            "blackroad_jobs_failed",
            "Failed attempts",
            ["queue", "job_name", "error_type"],
            registry=r,
        )
        self.duration = Histogram(
            "blackroad_job_duration_seconds",
            "Handler run time",
            ["queue", "job_name"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "blackroad_queue_latency_seconds",
            "Wait from when a job became due (enqueue, run_at, retry time) to its start; "
            "priority is the level's number, 0-10",
            ["queue", "priority"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.processing = Gauge(
            "blackroad_worker_jobs_processing",
            "Jobs this worker is running",
            ["worker_name"],
            registry=r,
        )
        self.concurrency = Gauge(
            "blackroad_worker_concurrency",
            "Jobs this worker may run at once (saturation: processing / concurrency)",
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

    def started(self, queue: str, priority: int, waited_s: float) -> None:
        self.of(self.latency, queue, str(priority)).observe(waited_s)

    def ran(self, queue: str, name: str, seconds: float) -> None:
        self.of(self.duration, queue, name).observe(seconds)

    def finished(self, queue: str, name: str, status: str, n: int = 1) -> None:
        self.of(self.completed, queue, name, status).inc(n)

    def failed(self, queue: str, name: str, reason: str) -> None:
        self.of(self.failures, queue, name, reason).inc()

    def watch(self, worker_name: str, busy: Callable[[], int], concurrency: int) -> None:
        # Read at scrape time: setting a gauge on every job start and end costs a lock each.
        self.processing.labels(worker_name).set_function(busy)
        self.concurrency.labels(worker_name).set(concurrency)
