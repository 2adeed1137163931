"""Turns the rounds into medians with min-max, and finds the best peer per metric."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    higher_is_better: bool
    get: Callable[[dict[str, Any]], Any]


def _at(step: str, *path: str) -> Callable[[dict[str, Any]], Any]:
    """Reads rounds[step][path...]; a skipped step reads "none" (no bulk API) or "n/a"."""

    def get(rd: dict[str, Any]) -> Any:
        value: Any = rd.get(step)
        if value is None:
            return "none" if step == "enqueue_bulk" else "n/a"
        for p in path:
            if not isinstance(value, dict):
                return None
            if "error" in value:
                return value["error"]
            if p not in value:
                return value.get("backlogged")
            value = value[p]
        return value

    return get


def _sum(*getters: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """The sum of several per-round figures, or the first one that is not a number."""

    def get(rd: dict[str, Any]) -> Any:
        values = [g(rd) for g in getters]
        for v in values:
            if not isinstance(v, int | float):
                return v
        return sum(values)

    return get


_CPU_ENQUEUE = _at("enqueue_single", "cpu_us_per_job")
_CPU_DRAIN = _at("drain_default", "backlog", "cpu_us_per_job")

METRICS: tuple[Metric, ...] = (
    Metric("enqueue_single", "enqueue_single /s", True, _at("enqueue_single", "per_s")),
    Metric("enqueue_bulk", "enqueue_bulk /s", True, _at("enqueue_bulk", "per_s")),
    Metric("drain_default", "drain, default concurrency /s", True, _at("drain_default", "per_s")),
    Metric("drain_c50", "drain, concurrency 50 /s", True, _at("drain_c50", "per_s")),
    Metric("latency_p50", "latency p50 ms", False, _at("latency", "p50_ms")),
    Metric("latency_p99", "latency p99 ms", False, _at("latency", "p99_ms")),
    Metric("cmds_enqueue", "Redis cmds/job, enqueue (single)", False, _at("commands", "enqueue")),
    Metric(
        "cmds_bulk", "Redis cmds/job, enqueue (bulk)", False, _at("enqueue_bulk", "cmds_per_job")
    ),
    Metric("cmds_worker", "Redis cmds/job, worker (backlog)", False, _at("commands", "worker")),
    Metric(
        "cmds_at_rate", "Redis cmds/job at 100/s, both sides", False, _at("latency", "cmds_per_job")
    ),
    Metric("cpu_enqueue", "Redis CPU µs/job, enqueue (single)", False, _CPU_ENQUEUE),
    Metric("cpu_drain", "Redis CPU µs/job, worker at backlog", False, _CPU_DRAIN),
    Metric(
        "cpu_backlog",
        "Redis CPU µs/job at backlog, both sides",
        False,
        _sum(_CPU_ENQUEUE, _CPU_DRAIN),
    ),
    Metric(
        "cpu_at_rate",
        "Redis CPU µs/job at 100/s, both sides",
        False,
        _at("latency", "cpu_us_per_job"),
    ),
    Metric(
        "rss_main",
        "worker peak RSS MB, main process",
        False,
        _at("drain_default", "rss", "main_mb"),
    ),
    Metric(
        "rss_tree",
        "worker peak RSS MB, with children",
        False,
        _at("drain_default", "rss", "tree_mb"),
    ),
    Metric(
        "rss_c50_tree",
        "worker peak RSS MB at 50, with children",
        False,
        _at("drain_c50", "rss", "tree_mb"),
    ),
)


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric: median, min, max and n over the rounds that produced a number, else the
    text the rounds gave ("none", "n/a", an error)."""
    out: dict[str, Any] = {}
    for m in METRICS:
        values = [m.get(rd) for rd in rounds]
        numbers = [float(v) for v in values if isinstance(v, int | float)]
        if numbers:
            out[m.key] = {
                "median": statistics.median(numbers),
                "min": min(numbers),
                "max": max(numbers),
                "n": len(numbers),
            }
        else:
            texts = [str(v) for v in values if v is not None]
            out[m.key] = texts[0] if texts else None
    partial = [
        rd[k]["partial"]
        for rd in rounds
        for k in ("drain_default", "drain_c50")
        if isinstance(rd.get(k), dict) and "partial" in rd[k]
    ]
    if partial:
        out["partial_drains"] = partial
    return out


def best_peer(systems: dict[str, Any], metric: Metric) -> tuple[str, float] | None:
    """The peer with the best median for ``metric``: (system key, median)."""
    best: tuple[str, float] | None = None
    for key, data in systems.items():
        if key == "ours" or "summary" not in data:
            continue
        cell = data["summary"].get(metric.key)
        if not isinstance(cell, dict):
            continue
        v = float(cell["median"])
        if best is None or (v > best[1] if metric.higher_is_better else v < best[1]):
            best = (key, v)
    return best
