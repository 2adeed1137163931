"""The operator's Prometheus metrics: the queue-level series of its JobQueues (it is their
one exporter in Kubernetes), WorkerPool replicas and reconcile outcomes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from worker_runtime.engine.overview import QueueOverview
from worker_runtime.exporter import queue_families, redis_up

#: A queue's figures older than this are no longer exported: a replica that lost the
#: peering (kopf pauses it) must not keep exporting them beside the active one. Passes run
#: every status interval (5 s by default).
STALE_AFTER_S = 60.0


class _QueueSeries(Collector):
    """The last overview of each JobQueue's queue, as its reconcile pass read it."""

    def __init__(self) -> None:
        # Written by the kopf event loop, read by the metrics server's thread.
        self.lock = threading.Lock()
        self.overviews: dict[str, tuple[float, QueueOverview]] = {}
        self.reachable: dict[str, tuple[float, bool]] = {}

    def collect(self) -> Iterable[Metric]:
        fresh = time.monotonic() - STALE_AFTER_S
        with self.lock:
            overviews = [o for q, (t, o) in sorted(self.overviews.items()) if t >= fresh]
            reachable = [up for t, up in self.reachable.values() if t >= fresh]
        if reachable:
            yield redis_up(all(reachable))
        yield from queue_families(overviews)


class OperatorMetrics:
    """Collectors in a private registry (one per operator instance, so tests can run several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._queues = _QueueSeries()
        self.registry.register(self._queues)
        self.pool_desired = Gauge(
            "blackroad_workerpool_desired_replicas",
            "Replicas the operator asked for, per WorkerPool.",
            ["namespace", "workerpool"],
            registry=self.registry,
        )
        self.pool_ready = Gauge(
            "blackroad_workerpool_ready_replicas",
            "Ready replicas of each WorkerPool's Deployment, as last observed.",
            ["namespace", "workerpool"],
            registry=self.registry,
        )
        self.pool_backlog = Gauge(
            "blackroad_workerpool_backlog",
            "Backlog the autoscaler last saw, per WorkerPool.",
            ["namespace", "workerpool"],
            registry=self.registry,
        )
        self.reconciles = Counter(
            "blackroad_operator_reconciles",
            "Reconcile passes by kind and outcome (the Ready reason).",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.last_reconcile = Gauge(
            "blackroad_operator_last_reconcile_timestamp_seconds",
            "Unix time of the last finished reconcile pass, per kind.",
            ["kind"],
            registry=self.registry,
        )

    def reconciled(self, kind: str, reason: str) -> None:
        self.reconciles.labels(kind, reason).inc()
        self.last_reconcile.labels(kind).set(time.time())

    def set_queue(self, queue: str, overview: QueueOverview | None, reachable: bool) -> None:
        """Records a pass: its overview (None when Redis could not be read: the last one
        stays) and whether the queue's Redis answered."""
        now = time.monotonic()
        with self._queues.lock:
            self._queues.reachable[queue] = (now, reachable)
            if overview is not None:
                self._queues.overviews[queue] = (now, overview)

    def set_pool(self, namespace: str, name: str, status: dict[str, object]) -> None:
        for gauge, key in (
            (self.pool_desired, "desiredReplicas"),
            (self.pool_ready, "readyReplicas"),
            (self.pool_backlog, "backlog"),
        ):
            value = status.get(key)
            if isinstance(value, int | float):
                gauge.labels(namespace, name).set(value)

    def forget_queue(self, queue: str) -> None:
        with self._queues.lock:
            self._queues.overviews.pop(queue, None)
            self._queues.reachable.pop(queue, None)

    def forget_pool(self, namespace: str, name: str) -> None:
        for gauge in (self.pool_desired, self.pool_ready, self.pool_backlog):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)
