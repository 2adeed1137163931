"""Unit: reconcile plans for JobQueue and WorkerPool from observed states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from queue_operator.models import JobQueueSpec, WorkerPoolSpec
from queue_operator.problems import Problem
from queue_operator.reconcile.common import JSON, Meta, parse_spec, status_patch
from queue_operator.reconcile.jobqueue import QueueObserved, QueuePlan, RedisHealth, Target
from queue_operator.reconcile.jobqueue import reconcile_jobqueue as plan_jobqueue
from queue_operator.reconcile.workerpool import PoolObserved, PoolPlan
from queue_operator.reconcile.workerpool import reconcile_workerpool as plan_workerpool
from worker_runtime.models import QueueStats
from worker_runtime.queue_config import QueueConfig

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
META = Meta("lucidia", "ns", "uid-1", 3)
SAFE = RedisHealth(reachable=True, aof=True, eviction_policy="noeviction")
STATS = QueueStats("lucidia", 4, 1, 2, 10, 1, 0, 90_000, False)


def cond(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def reconcile_jobqueue(
    meta: Meta, raw: JSON, old: JSON, observed: QueueObserved, now: datetime
) -> QueuePlan:
    """The plan from a raw spec, parsed once as the operator's pass does."""
    return plan_jobqueue(meta, parse_spec(JobQueueSpec, raw), old, observed, now)


def reconcile_workerpool(
    meta: Meta, raw: JSON, old: JSON, observed: PoolObserved, now: datetime
) -> PoolPlan:
    return plan_workerpool(meta, parse_spec(WorkerPoolSpec, raw), old, observed, now)


def test_jobqueue_in_sync_writes_nothing_and_reports_depth() -> None:
    current = QueueConfig().model_dump()
    plan = reconcile_jobqueue(
        META, {}, {}, QueueObserved(redis=SAFE, current_config=current, stats=STATS), NOW
    )
    assert plan.config_changes == {}
    assert plan.events == []
    s = plan.status
    got = (s["queueName"], s["pending"], s["running"], s["observedGeneration"])
    assert got == ("lucidia", 4, 2, 3)
    assert s["oldestPendingTime"] == "2025-01-01T11:58:30Z"
    assert cond(s, "Ready")["status"] == "True" and s["ready"] is True
    assert cond(s, "Degraded")["status"] == "False"


def test_jobqueue_drift_is_written_with_an_event() -> None:
    current = {**QueueConfig().model_dump(), "paused": True}
    plan = reconcile_jobqueue(
        META, {"maxAttempts": 7}, {}, QueueObserved(redis=SAFE, current_config=current), NOW
    )
    assert plan.config_changes == {"max_attempts": 7, "paused": False}
    assert [e.reason for e in plan.events] == ["ConfigApplied"]


def test_unsafe_redis_is_degraded_not_ignored() -> None:
    health = RedisHealth(reachable=True, aof=False, eviction_policy="allkeys-lru")
    plan = reconcile_jobqueue(META, {}, {}, QueueObserved(redis=health, current_config={}), NOW)
    degraded = cond(plan.status, "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "UnsafePersistence")
    assert "allkeys-lru" in degraded["message"]
    assert cond(plan.status, "Ready")["status"] == "True"
    denied = RedisHealth(reachable=True, config_denied="NoPermissionError: NOPERM")
    plan = reconcile_jobqueue(META, {}, {}, QueueObserved(redis=denied, current_config={}), NOW)
    assert cond(plan.status, "Degraded")["reason"] == "SafetyUnchecked"
    assert "NOPERM" in cond(plan.status, "Degraded")["message"]


def test_unreachable_keeps_observed_generation_and_warns_once() -> None:
    old = {"observedGeneration": 2}
    down = QueueObserved(redis=RedisHealth(reachable=False, error="ConnectionError: refused"))
    plan = reconcile_jobqueue(META, {}, old, down, NOW)
    assert "observedGeneration" not in plan.status
    assert cond(plan.status, "Ready")["reason"] == "RedisUnreachable"
    assert [e.reason for e in plan.events] == ["RedisUnreachable"]
    again = reconcile_jobqueue(META, {}, {**old, **plan.status}, down, NOW)
    assert again.events == []
    assert status_patch({**old, **plan.status}, again.status) == {}


def test_conflict_and_invalid_spec() -> None:
    plan = reconcile_jobqueue(
        META, {}, {}, QueueObserved(redis=SAFE, conflict_owner="other/lucidia"), NOW
    )
    assert cond(plan.status, "Degraded")["reason"] == "QueueNameConflict"
    assert "other/lucidia" in cond(plan.status, "Degraded")["message"]
    assert plan.config_changes == {}
    long = Meta("x" * 120, "ns", "u", 1)
    plan = reconcile_jobqueue(long, {}, {}, QueueObserved(), NOW)
    assert cond(plan.status, "Ready")["reason"] == "InvalidSpec"
    assert "spec.queueName" in cond(plan.status, "Ready")["message"]


POOL = Meta("agents", "ns", "pool-uid", 5)
POOL_SPEC = {
    "queues": [{"name": "lucidia"}],
    "image": "worker:1",
    "handlers": "worker_runtime.examples",
    "autoscaling": {"minReplicas": 1, "maxReplicas": 5, "targetBacklogPerReplica": 10},
}
TARGETS: dict[str, Target | Problem] = {
    "lucidia": Target("agent-lucidia", "blackroad-redis", "url")
}


def deployment(replicas: int, ready: int = 0) -> dict[str, Any]:
    return {
        "metadata": {"ownerReferences": [{"uid": "pool-uid"}]},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "readyReplicas": ready},
    }


def test_pool_created_then_scaled_up_with_events() -> None:
    plan = reconcile_workerpool(POOL, POOL_SPEC, {}, PoolObserved(TARGETS, 0), NOW)
    assert plan.action == "create"
    assert plan.deployment is not None and plan.deployment["spec"]["replicas"] == 1
    env = plan.deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "QUEUES", "value": "agent-lucidia"} in env
    plan = reconcile_workerpool(
        POOL, POOL_SPEC, plan.status, PoolObserved(TARGETS, 42, deployment=deployment(1, 1)), NOW
    )
    assert plan.action == "update"
    assert plan.status["desiredReplicas"] == 5
    assert [e.reason for e in plan.events] == ["ScaledUp"]
    assert plan.status["lastScaleTime"] == "2025-01-01T12:00:00Z"


def test_pool_invalid_and_missing_queue() -> None:
    bad = {**POOL_SPEC, "queues": [{"name": "lucidia", "weight": 2}, {"name": "alice"}]}
    plan = reconcile_workerpool(POOL, bad, {}, PoolObserved(TARGETS, 0), NOW)
    assert cond(plan.status, "Ready")["reason"] == "InvalidSpec"
    assert "spec.queues" in cond(plan.status, "Ready")["message"]
    assert plan.deployment is None
    missing: dict[str, Target | Problem] = {
        "lucidia": Problem("QueueNotReady", "not found in namespace ns", "spec.queues")
    }
    plan = reconcile_workerpool(POOL, POOL_SPEC, {}, PoolObserved(missing, None), NOW)
    assert cond(plan.status, "Ready")["reason"] == "QueueNotReady"
    reserved = {**POOL_SPEC, "env": [{"name": "REDIS_URL", "value": "x"}]}
    plan = reconcile_workerpool(POOL, reserved, {}, PoolObserved(TARGETS, 0), NOW)
    assert "REDIS_URL" in cond(plan.status, "Ready")["message"]


def test_pool_foreign_deployment_is_a_conflict() -> None:
    foreign = {"metadata": {}, "spec": {"replicas": 1}}
    plan = reconcile_workerpool(
        POOL, POOL_SPEC, {}, PoolObserved(TARGETS, 0, deployment=foreign), NOW
    )
    assert cond(plan.status, "Ready")["reason"] == "DeploymentConflict"


def test_pool_manual_replicas_and_scale_floor() -> None:
    manual = {**POOL_SPEC, "autoscaling": {"enabled": False}, "replicas": 3}
    plan = reconcile_workerpool(
        POOL, manual, {}, PoolObserved(TARGETS, 100, deployment=deployment(1)), NOW
    )
    assert plan.status["desiredReplicas"] == 3
    floored = {**POOL_SPEC, "replicas": 2}
    plan = reconcile_workerpool(
        POOL, floored, {}, PoolObserved(TARGETS, 0, deployment=deployment(1)), NOW
    )
    assert plan.status["desiredReplicas"] == 2


def test_pool_redis_down_holds_replicas() -> None:
    observed = PoolObserved(TARGETS, None, redis_error="ConnectionError", deployment=deployment(3))
    plan = reconcile_workerpool(POOL, POOL_SPEC, {}, observed, NOW)
    assert plan.status["desiredReplicas"] == 3
    assert cond(plan.status, "Degraded")["reason"] == "RedisUnreachable"


def test_jobqueue_spec_roundtrip_alias() -> None:
    assert JobQueueSpec.model_validate({"deletionPolicy": "Delete"}).deletion_policy == "Delete"
