"""Pure WorkerPool reconciliation: the Deployment to write, replicas, status and Events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from queue_operator import autoscaler
from queue_operator import conditions as c
from queue_operator.builders.deployment import (
    RESERVED_ENV,
    Owner,
    SecretRef,
    build_deployment,
    is_subset,
    selector_string,
    termination_grace,
)
from queue_operator.builders.disruption import build_pdb
from queue_operator.models.workerpool import WorkerPoolSpec
from queue_operator.problems import Problem
from queue_operator.reconcile.common import (
    JSON,
    Event,
    Meta,
    rfc3339,
    transitioned,
    with_conditions,
)
from queue_operator.reconcile.jobqueue import Target

#: Seconds between passes when the pool does not autoscale (status refresh only).
IDLE_INTERVAL = 10.0


@dataclass(frozen=True)
class PoolObserved:
    """What the glue read: the pool's JobQueues, their backlog and the Deployment."""

    #: JobQueue name -> its target, or why it cannot be used (missing, invalid).
    queues: dict[str, Target | Problem]
    #: Total backlog of the pool's queues; None when Redis could not be read.
    backlog: int | None
    redis_error: str | None = None
    secret_problem: Problem | None = None
    deployment: JSON | None = None
    #: The longest timeoutMs of the pool's JobQueues (the default grace follows it).
    longest_timeout_ms: int | None = None
    #: The PodDisruptionBudget named after the pool, if one exists.
    pdb: JSON | None = None


@dataclass
class PoolPlan:
    deployment: JSON | None = None
    action: Literal["create", "update", "none"] = "none"
    status: JSON = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requeue_after: float = IDLE_INTERVAL
    #: Write the pods' deletion costs (from their jobs in flight) before the Deployment.
    set_costs: bool = False
    pdb: JSON | None = None
    pdb_action: Literal["create", "update", "delete", "none"] = "none"


def engine_queues(spec: WorkerPoolSpec, targets: dict[str, Target]) -> str:
    """The QUEUES value: strict order `a,b`, or weighted `a:3,b:1` when weights are given."""
    names = [targets[q.name].queue_name for q in spec.queues]
    if all(q.weight is None for q in spec.queues):
        return ",".join(names)
    return ",".join(f"{n}:{q.weight}" for n, q in zip(names, spec.queues, strict=True))


def check_spec(spec: WorkerPoolSpec, queues: dict[str, Target | Problem]) -> Problem | None:
    """What the schema cannot reject but the operator cannot honour, if anything."""
    weighted = [q.weight is not None for q in spec.queues]
    if any(weighted) and not all(weighted):
        return _invalid("spec.queues", "give every queue a weight, or none (strict order)")
    names = [q.name for q in spec.queues]
    if len(set(names)) != len(names):
        return _invalid("spec.queues", "a JobQueue is listed twice")
    reserved = sorted({str(e.get("name")) for e in spec.env or []} & set(RESERVED_ENV))
    if reserved:
        return _invalid("spec.env", f"{', '.join(str(r) for r in reserved)} is set by the operator")
    targets = [t for t in queues.values() if isinstance(t, Target)]
    if len({(t.secret_name, t.secret_key) for t in targets}) > 1:
        return _invalid("spec.queues", "all queues of a pool must use the same Redis Secret")
    return None


def _invalid(field: str, detail: str) -> Problem:
    return Problem("InvalidSpec", f"{field}: {detail}", field)


def reconcile_workerpool(
    meta: Meta,
    spec: WorkerPoolSpec | Problem,
    old_status: JSON,
    observed: PoolObserved,
    now: datetime,
) -> PoolPlan:
    """The plan for one WorkerPool given its parsed spec and what was observed."""
    if isinstance(spec, Problem):
        return _blocked(meta, old_status, now, spec.reason, f"{spec.message}. Fix the spec.")
    problem = check_spec(spec, observed.queues)
    if problem is not None:
        return _blocked(meta, old_status, now, problem.reason, f"{problem.message}. Fix the spec.")
    missing = {n: t for n, t in observed.queues.items() if isinstance(t, Problem)}
    if missing:
        name, why = next(iter(missing.items()))
        return _blocked(meta, old_status, now, why.reason, f"JobQueue {name}: {why.message}")
    targets = {n: t for n, t in observed.queues.items() if isinstance(t, Target)}
    if observed.secret_problem is not None:
        secret = observed.secret_problem
        return _blocked(meta, old_status, now, secret.reason, secret.message)
    if observed.deployment is not None and not owned_by(observed.deployment, meta.uid):
        message = (
            f"Deployment {meta.name} exists and is not owned by this WorkerPool; delete or "
            "rename it."
        )
        return _blocked(meta, old_status, now, "DeploymentConflict", message)
    return _plan(meta, spec, targets, old_status, observed, now)


def _plan(
    meta: Meta,
    spec: WorkerPoolSpec,
    targets: dict[str, Target],
    old_status: JSON,
    observed: PoolObserved,
    now: datetime,
) -> PoolPlan:
    queues = engine_queues(spec, targets)
    current = _current_replicas(observed.deployment)
    scaling = spec.autoscaling if spec.autoscaling and spec.autoscaling.enabled else None
    external = scaling is not None and scaling.mode == "external"
    history = tuple(
        autoscaler.Rec(r["time"], r["replicas"]) for r in old_status.get("recommendations") or []
    )
    if scaling is not None and external:
        # An HPA or KEDA owns replicas: report what runs, never write it.
        runs = current if current is not None else 1
        why = "autoscaling.mode external: replicas belong to the HPA or KEDA"
        decision = autoscaler.Decision(runs, runs, (), "none", why)
        requeue = float(scaling.poll_seconds)
    elif scaling is None:
        replicas = spec.replicas if spec.replicas is not None else 1
        decision = autoscaler.Decision(
            replicas, replicas, (), "none", "autoscaling off: spec.replicas"
        )
        if current is not None and replicas != current:
            direction: Literal["up", "down", "none"] = "up" if replicas > current else "down"
            decision = autoscaler.Decision(
                replicas, replicas, (), direction, f"spec.replicas is {replicas}"
            )
        requeue = IDLE_INTERVAL
    elif observed.backlog is None:
        # Without a backlog reading nothing scales: keep what runs (Degraded says why).
        keep = current if current is not None else scaling.min_replicas
        decision = autoscaler.Decision(keep, keep, history, "none", "backlog unknown: holding")
        requeue = float(scaling.poll_seconds)
    else:
        policy = autoscaler.Policy(
            scaling.min_replicas,
            scaling.max_replicas,
            scaling.target_backlog_per_replica,
            scaling.scale_up_stabilization_seconds,
            scaling.scale_down_stabilization_seconds,
            spec.replicas or 0,
        )
        decision = autoscaler.decide(policy, observed.backlog, current, history, now.timestamp())
        requeue = float(scaling.poll_seconds)
    secret = next(iter(targets.values()))
    owner = Owner(meta.name, meta.namespace, meta.uid)
    desired = build_deployment(
        owner,
        spec,
        queues,
        SecretRef(secret.secret_name, secret.secret_key),
        None if external else decision.replicas,
        termination_grace(spec, observed.longest_timeout_ms),
    )
    action: Literal["create", "update", "none"] = "none"
    if observed.deployment is None:
        action = "create"
    elif not is_subset(desired["spec"], observed.deployment.get("spec")):
        action = "update"
    events = _scale_events(current, decision, external)
    if action == "update" and current == decision.replicas:
        events.append(Event("Normal", "ConfigApplied", "Updated the worker Deployment"))
    status = _status(meta, old_status, observed, decision, queues, current, now)
    # Scaling down (operator mode) or at any time (external mode: the HPA gives no notice),
    # the ReplicaSet must know which pods are busy.
    set_costs = current is not None and (external or decision.replicas < current)
    pdb, pdb_action = _pdb_plan(meta, owner, spec, observed.pdb)
    return PoolPlan(desired, action, status, events, requeue, set_costs, pdb, pdb_action)


def _pdb_plan(
    meta: Meta, owner: Owner, spec: WorkerPoolSpec, observed: JSON | None
) -> tuple[JSON | None, Literal["create", "update", "delete", "none"]]:
    """The PodDisruptionBudget to write; one the pool does not own is never touched."""
    mine = observed is not None and owned_by(observed, meta.uid)
    if spec.disruption_budget is None:
        return None, "delete" if mine else "none"
    desired = build_pdb(owner, spec.disruption_budget)
    if observed is None:
        return desired, "create"
    if mine and not is_subset(desired["spec"], observed.get("spec")):
        return desired, "update"
    return desired, "none"


def owned_by(obj: JSON, uid: str) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(r, dict) and r.get("uid") == uid for r in refs)


def _current_replicas(deployment: JSON | None) -> int | None:
    if deployment is None:
        return None
    return int((deployment.get("spec") or {}).get("replicas", 1))


def _scale_events(
    current: int | None, decision: autoscaler.Decision, external: bool = False
) -> list[Event]:
    if current is None:
        count = "replicas left to the HPA or KEDA" if external else f"{decision.replicas} replicas"
        message = f"Created the worker Deployment with {count} ({decision.reason})"
        return [Event("Normal", "ConfigApplied", message)]
    if decision.replicas > current:
        return [Event("Normal", "ScaledUp", f"{current} -> {decision.replicas}: {decision.reason}")]
    if decision.replicas < current:
        message = f"{current} -> {decision.replicas}: {decision.reason}"
        return [Event("Normal", "ScaledDown", message)]
    return []


def _status(
    meta: Meta,
    old_status: JSON,
    observed: PoolObserved,
    decision: autoscaler.Decision,
    queues: str,
    current: int | None,
    now: datetime,
) -> JSON:
    dep_status = (observed.deployment or {}).get("status") or {}
    ready_replicas = int(dep_status.get("readyReplicas") or 0)
    changed = current != decision.replicas
    fields: JSON = {
        "observedGeneration": meta.generation,
        "replicas": int(dep_status.get("replicas") or 0),
        "readyReplicas": ready_replicas,
        "desiredReplicas": decision.replicas,
        "backlog": observed.backlog,
        "queues": queues,
        "selector": selector_string(meta.name),
        "lastScaleTime": rfc3339(now) if changed else old_status.get("lastScaleTime"),
        "lastScaleReason": decision.reason if changed else old_status.get("lastScaleReason"),
        "recommendations": [{"time": r.time, "replicas": r.replicas} for r in decision.history]
        or None,
    }
    if decision.replicas == 0:
        ready = c.ready("ScaledToZero", "No backlog: no workers needed.")
    elif ready_replicas >= decision.replicas and not changed:
        ready = c.ready("AllWorkersReady", f"{ready_replicas} of {decision.replicas} ready.")
    else:
        ready = c.not_ready(
            "WorkersStarting",
            f"{ready_replicas} of {decision.replicas} workers ready; see the pods' events "
            "and logs if this persists.",
        )
    degraded = (
        c.degraded(
            "RedisUnreachable",
            f"Cannot read the backlog: {observed.redis_error}; holding the current replicas.",
        )
        if observed.backlog is None and observed.redis_error
        else c.healthy()
    )
    return with_conditions(old_status, fields, [ready, degraded], now, meta.generation)


def _blocked(meta: Meta, old_status: JSON, now: datetime, reason: str, message: str) -> PoolPlan:
    conds = [c.not_ready(reason, message), c.degraded(reason, message)]
    events = [Event("Warning", reason, message)] if transitioned(old_status, conds[0]) else []
    status = with_conditions(old_status, {}, conds, now, meta.generation)
    return PoolPlan(None, "none", status, events, IDLE_INTERVAL)
