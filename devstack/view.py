"""The demo's terminal view: queues (depth per state, rates, oldest) and pools (replicas)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Group
from rich.table import Table

from devstack.kube import KubeReader, Pod, Pool
from worker_runtime.client import SyncClient
from worker_runtime.durations import format_ms
from worker_runtime.models import QueueStats


@dataclass
class _Sample:
    at: float
    enqueued: int
    finished: int


@dataclass
class Snapshot:
    queues: list[QueueStats]
    pools: list[Pool]
    pods: list[Pod]
    schedules: list[dict[str, Any]]


@dataclass
class View:
    """Renders snapshots; remembers the previous one to compute per-queue rates."""

    client: SyncClient
    kube: KubeReader
    started: float = field(default_factory=time.monotonic)
    _last: dict[str, _Sample] = field(default_factory=dict)
    _rates: dict[str, tuple[float, float]] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        names = sorted(self.client.queues())
        stats = [self.client.stats(q) for q in names]
        self._update_rates(stats, time.monotonic())
        try:
            pools, pods, schedules = self.kube.pools(), self.kube.pods(), self.kube.schedules()
        except Exception:  # the API may be restarting; show the queues anyway
            pools, pods, schedules = [], [], []
        return Snapshot(stats, pools, pods, schedules)

    def _update_rates(self, stats: list[QueueStats], now: float) -> None:
        for s in stats:
            finished = s.completed + s.dead + s.cancelled
            sample = _Sample(now, finished + s.pending + s.delayed + s.running, finished)
            last = self._last.get(s.queue)
            if last is not None and now - last.at >= 1.0:
                span = now - last.at
                self._rates[s.queue] = (
                    max(0, sample.enqueued - last.enqueued) / span,
                    max(0, sample.finished - last.finished) / span,
                )
            if last is None or now - last.at >= 1.0:
                self._last[s.queue] = sample

    def render(self, snap: Snapshot) -> Group:
        return Group(self._queue_table(snap), self._pool_table(snap), _schedule_table(snap))

    def _queue_table(self, snap: Snapshot) -> Table:
        uptime = time.monotonic() - self.started
        table = Table(title=f"BlackRoad Queues, local system (up {uptime:.0f}s; Ctrl-C stops)")
        for col in (
            "queue",
            "pending",
            "delayed",
            "running",
            "completed",
            "dead",
            "in/s",
            "done/s",
            "oldest",
            "paused",
        ):
            table.add_column(col, justify="left" if col == "queue" else "right")
        for s in snap.queues:
            rate_in, rate_done = self._rates.get(s.queue, (0.0, 0.0))
            oldest = s.oldest_pending_age_ms
            table.add_row(
                s.queue,
                str(s.pending),
                str(s.delayed),
                str(s.running),
                str(s.completed),
                f"[red]{s.dead}[/red]" if s.dead else "0",
                f"{rate_in:.0f}",
                f"{rate_done:.0f}",
                format_ms(oldest) if oldest is not None else "-",
                "yes" if s.paused else "",
            )
        return table

    def _pool_table(self, snap: Snapshot) -> Table:
        table = Table(title="Worker pools (WorkerPool status; pods are local processes)")
        for col in ("pool", "queues", "desired", "ready", "backlog", "last scaling"):
            table.add_column(col, justify="left" if col in ("pool", "queues") else "right")
        table.add_column("last scaling reason", ratio=1)
        table.add_column("worker /metrics ports", no_wrap=True, overflow="ellipsis", max_width=40)
        for p in snap.pools:
            ports = [
                str(pod.metrics_port)
                for pod in snap.pods
                if pod.namespace == p.namespace and pod.pool == p.name and pod.metrics_port
            ]
            table.add_row(
                f"{p.namespace}/{p.name}",
                p.queues,
                _num(p.desired),
                _num(p.ready),
                _num(p.backlog),
                _ago(p.last_scale_time),
                p.last_scale_reason or "-",
                ",".join(ports) or "-",
            )
        return table


def _schedule_table(snap: Snapshot) -> Table:
    table = Table(title="Schedules (the operator fires them into their queues)")
    for col in ("schedule", "cron", "queue", "runs", "missed", "last", "next", "ready"):
        table.add_column(col, justify="right" if col in ("runs", "missed") else "left")
    for s in snap.schedules:
        meta, spec, st = s["metadata"], s.get("spec") or {}, s.get("status") or {}
        ready: dict[str, Any] = next(
            (c for c in st.get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        table.add_row(
            f"{meta['namespace']}/{meta['name']}",
            spec.get("cron", ""),
            spec.get("queue", ""),
            _num(st.get("runs")),
            _num(st.get("missedRuns")),
            _ago(st.get("lastScheduleTime") or ""),
            st.get("nextScheduleTime") or "-",
            ready.get("reason", "-"),
        )
    return table


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def _ago(timestamp: str) -> str:
    if not timestamp:
        return "-"
    at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return f"{format_ms(max(0.0, (datetime.now(UTC) - at).total_seconds()) * 1000)} ago"
