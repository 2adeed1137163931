"""Pure JobQueue reconciliation: the engine config to write, the status and the Events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from queue_operator import conditions as c
from queue_operator.constants import DEFAULT_REDIS_KEY, DEFAULT_REDIS_SECRET
from queue_operator.models.jobqueue import JobQueueSpec
from queue_operator.problems import Problem
from queue_operator.reconcile.common import (
    JSON,
    Event,
    Meta,
    parse_spec,
    rfc3339,
    transitioned,
    with_conditions,
)
from worker_runtime.names import MAX_QUEUE_NAME


@dataclass(frozen=True)
class Target:
    """Where a JobQueue lives: the engine queue and the Secret holding its Redis URL."""

    queue_name: str
    secret_name: str
    secret_key: str


@dataclass(frozen=True)
class RedisHealth:
    """What the operator learnt about a Redis server."""

    reachable: bool
    error: str | None = None
    aof: bool | None = None
    eviction_policy: str | None = None
    #: Why CONFIG GET could not be used (ACL), when it could not.
    config_denied: str | None = None


@dataclass(frozen=True)
class QueueObserved:
    """Everything the glue read before planning."""

    secret_problem: Problem | None = None
    redis: RedisHealth | None = None
    current_config: JSON | None = None
    stats: Any = None  # worker_runtime.models.QueueStats
    #: worker_runtime.engine.overview.QueueOverview: not planned on, only exported.
    overview: Any = None
    conflict_owner: str | None = None


@dataclass
class QueuePlan:
    target: Target | None
    config_changes: JSON = field(default_factory=dict)
    status: JSON = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requeue_after: float = 5.0


def target_of(name: str, spec: JobQueueSpec | Problem) -> Target | Problem:
    """The queue name and Secret of a JobQueue, or why the spec cannot be honoured
    (a spec that did not parse is its own problem)."""
    if isinstance(spec, Problem):
        return spec
    queue = spec.queue_name or name
    if len(queue) > MAX_QUEUE_NAME:
        message = (
            f"metadata.name: {len(queue)} characters is too long for an engine queue name "
            f"(at most {MAX_QUEUE_NAME}); set spec.queueName"
        )
        return Problem("InvalidSpec", message, "metadata.name")
    ref = spec.redis.secret_ref if spec.redis else None
    if ref is None:
        return Target(queue, DEFAULT_REDIS_SECRET, DEFAULT_REDIS_KEY)
    return Target(queue, ref.name, ref.key)


def queue_target(name: str, raw_spec: JSON) -> Target | Problem:
    """The target of another JobQueue (a pool's or a Schedule's), from its stored spec."""
    return target_of(name, parse_spec(JobQueueSpec, raw_spec))


def config_changes(desired: JSON, current: JSON | None) -> JSON:
    """The engine config fields that differ from what Redis holds."""
    current = current or {}
    return {k: v for k, v in desired.items() if current.get(k) != v}


def reconcile_jobqueue(
    meta: Meta,
    spec: JobQueueSpec | Problem,
    old_status: JSON,
    observed: QueueObserved,
    now: datetime,
    interval: float = 5.0,
) -> QueuePlan:
    """The plan for one JobQueue given its parsed spec and what was observed."""
    if isinstance(spec, Problem):
        return _invalid(spec, old_status, meta, now, interval)
    target = target_of(meta.name, spec)
    if isinstance(target, Problem):
        return _invalid(target, old_status, meta, now, interval)
    base = {"queueName": target.queue_name}
    if observed.secret_problem is not None:
        problem = observed.secret_problem
        return _failed(
            target, old_status, meta, now, problem.reason, problem.message, interval, base
        )
    health = observed.redis
    if health is None or not health.reachable:
        why = (health.error if health else None) or "no answer"
        message = (
            f"Cannot reach Redis from Secret {target.secret_name} (key {target.secret_key}): "
            f"{why}. Check the URL and that Redis is up; retrying."
        )
        return _failed(target, old_status, meta, now, "RedisUnreachable", message, interval, base)
    if observed.conflict_owner is not None:
        message = (
            f"Engine queue {target.queue_name!r} on this Redis is already managed by JobQueue "
            f"{observed.conflict_owner}; set spec.queueName to another name or delete one of them."
        )
        return _failed(target, old_status, meta, now, "QueueNameConflict", message, interval, base)
    return _applied(meta, spec, target, old_status, observed, health, now, interval)


def _applied(
    meta: Meta,
    spec: JobQueueSpec,
    target: Target,
    old_status: JSON,
    observed: QueueObserved,
    health: RedisHealth,
    now: datetime,
    interval: float,
) -> QueuePlan:
    changes = config_changes(spec.engine_config(), observed.current_config)
    events: list[Event] = []
    if changes:
        events.append(Event("Normal", "ConfigApplied", "Wrote " + ", ".join(sorted(changes))))
    ready = c.ready("ConfigApplied", f"Queue {target.queue_name!r} is configured in Redis.")
    degraded = safety_condition(health)
    if degraded.status == "True" and transitioned(old_status, degraded):
        events.append(Event("Warning", degraded.reason, degraded.message))
    fields: JSON = {
        "queueName": target.queue_name,
        "observedGeneration": meta.generation,
        **depth_fields(observed.stats, now),
    }
    status = with_conditions(old_status, fields, [ready, degraded], now, meta.generation)
    return QueuePlan(target, changes, status, events, interval)


def safety_condition(health: RedisHealth) -> c.Cond:
    """Degraded when Redis could lose jobs: AOF off, or an eviction policy other than noeviction."""
    if health.config_denied is not None:
        return c.Cond(
            "Degraded",
            "Unknown",
            "SafetyUnchecked",
            f"Could not read Redis settings ({health.config_denied}): CONFIG is not permitted for "
            "this user. Make sure appendonly is yes and maxmemory-policy is noeviction.",
        )
    problems = []
    if health.aof is False:
        problems.append(("UnsafePersistence", "appendonly is off, so a restart loses jobs"))
    if health.eviction_policy not in (None, "noeviction"):
        problems.append(
            (
                "UnsafeEviction",
                f"maxmemory-policy is {health.eviction_policy}, so Redis may evict jobs",
            )
        )
    if problems:
        text = "; ".join(p[1] for p in problems)
        return c.degraded(
            problems[0][0],
            f"{text}. Set appendonly yes and maxmemory-policy noeviction on this Redis.",
        )
    return c.healthy("RedisSafe", "AOF is on and maxmemory-policy is noeviction.")


def depth_fields(stats: Any, now: datetime) -> JSON:
    if stats is None:
        return {}
    age = stats.oldest_pending_age_ms
    oldest = rfc3339(now - timedelta(milliseconds=age)) if age is not None else None
    return {
        "pending": stats.pending,
        "delayed": stats.delayed,
        "running": stats.running,
        "completed": stats.completed,
        "dead": stats.dead,
        "cancelled": stats.cancelled,
        "oldestPendingTime": oldest,
        "paused": stats.paused,
        "lastUpdateTime": rfc3339(now),
    }


def _failed(
    target: Target | None,
    old_status: JSON,
    meta: Meta,
    now: datetime,
    reason: str,
    message: str,
    interval: float,
    fields: JSON | None = None,
) -> QueuePlan:
    # observedGeneration stays where it was: it is written only after a successful reconcile.
    conds = [c.not_ready(reason, message), c.degraded(reason, message)]
    events = [Event("Warning", reason, message)] if transitioned(old_status, conds[0]) else []
    status = with_conditions(old_status, dict(fields or {}), conds, now, meta.generation)
    return QueuePlan(target, {}, status, events, interval)


def _invalid(
    problem: Problem, old_status: JSON, meta: Meta, now: datetime, interval: float
) -> QueuePlan:
    message = f"{problem.message}. Fix the spec."
    return _failed(None, old_status, meta, now, problem.reason, message, interval)
