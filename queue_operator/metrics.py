"""The operator's Prometheus metrics: queue depth per JobQueue, reconcile outcomes."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge

STATES = ("pending", "delayed", "running", "completed", "dead", "cancelled")


class OperatorMetrics:
    """Collectors in a private registry (one per operator instance, so tests can run several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge(
            "blackroad_queue_depth",
            "Jobs per state of every JobQueue, as last read by the operator.",
            ["queue", "state"],
            registry=self.registry,
        )
        self.pool_desired = Gauge(
            "blackroad_workerpool_desired_replicas",
            "Replicas the operator asked for, per WorkerPool.",
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

    def set_depth(self, queue: str, stats: object) -> None:
        for state in STATES:
            self.queue_depth.labels(queue, state).set(float(getattr(stats, state)))

    def forget_queue(self, queue: str) -> None:
        for state in STATES:
            with contextlib.suppress(KeyError):
                self.queue_depth.remove(queue, state)

    def forget_pool(self, namespace: str, name: str) -> None:
        for gauge in (self.pool_desired, self.pool_backlog):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)
