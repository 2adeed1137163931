"""Unit: busy-aware scale-down, grace from job timeouts, the PDB, external autoscaling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from queue_operator.builders.deployment import (
    MIN_DERIVED_GRACE,
    Owner,
    SecretRef,
    build_deployment,
    termination_grace,
    worker_grace_seconds,
)
from queue_operator.builders.disruption import build_pdb
from queue_operator.constants import POD_DELETION_COST
from queue_operator.models import WorkerPoolSpec
from queue_operator.reconcile.podcost import cost_patches
from queue_operator.reconcile.workerpool import PoolObserved
from tests.operator.test_reconcile import (
    NOW,
    POOL,
    POOL_SPEC,
    TARGETS,
    deployment,
    reconcile_workerpool,
)

EXTERNAL = {**POOL_SPEC, "autoscaling": {"mode": "external", "targetBacklogPerReplica": 1}}


def spec(**fields: Any) -> WorkerPoolSpec:
    return WorkerPoolSpec.model_validate({**POOL_SPEC, **fields})


def test_grace_follows_the_longest_job_timeout_up_to_the_cap() -> None:
    assert termination_grace(spec(), None) == MIN_DERIVED_GRACE
    assert termination_grace(spec(), 10_000) == MIN_DERIVED_GRACE  # never below 30 s
    assert termination_grace(spec(), 600_000) == 605  # timeout + the worker's exit margin
    assert termination_grace(spec(), 600_001) == 606  # rounded up to whole seconds
    assert termination_grace(spec(), 86_400_000) == 3600  # maxGraceSeconds' default
    assert termination_grace(spec(maxGraceSeconds=900), 86_400_000) == 900
    assert termination_grace(spec(terminationGracePeriodSeconds=45), 600_000) == 45
    # The worker's own grace still covers the whole timeout.
    assert worker_grace_seconds(605) == 600


def test_the_plan_applies_the_derived_grace() -> None:
    observed = PoolObserved(TARGETS, 0, longest_timeout_ms=1_200_000)
    plan = reconcile_workerpool(POOL, POOL_SPEC, {}, observed, NOW)
    assert plan.deployment is not None
    pod = plan.deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 1205
    assert "--grace=1200s" in pod["containers"][0]["args"]


def test_external_mode_never_writes_replicas_over_many_passes() -> None:
    # A stand-in HPA changes replicas between passes; the backlog says otherwise each time.
    plan = reconcile_workerpool(POOL, EXTERNAL, {}, PoolObserved(TARGETS, 50), NOW)
    assert plan.action == "create"
    assert plan.deployment is not None and "replicas" not in plan.deployment["spec"]
    created = plan.deployment
    status = plan.status
    hpa_replicas = [1, 4, 7, 2, 0, 9, 3, 3, 1, 6] * 10
    for i, replicas in enumerate(hpa_replicas):
        running = {**created, **deployment(replicas, replicas)}
        running["spec"] = {**created["spec"], "replicas": replicas}
        backlog = (i * 37) % 200
        observed = PoolObserved(TARGETS, backlog, deployment=running)
        plan = reconcile_workerpool(POOL, EXTERNAL, status, observed, NOW + timedelta(seconds=i))
        assert plan.action == "none", i  # nothing to write: replicas are not ours
        assert plan.deployment is not None and "replicas" not in plan.deployment["spec"]
        assert plan.status["backlog"] == backlog
        assert plan.status["desiredReplicas"] == replicas
        assert not [e for e in plan.events if e.reason in ("ScaledUp", "ScaledDown")]
        assert plan.set_costs  # the HPA gives no notice: costs stay current
        status = plan.status
    assert "external" in status["lastScaleReason"]


def test_scale_down_sets_costs_first_and_scale_up_does_not() -> None:
    down = {**POOL_SPEC, "autoscaling": {"scaleDownStabilizationSeconds": 0}}
    plan = reconcile_workerpool(
        POOL, down, {}, PoolObserved(TARGETS, 0, deployment=deployment(3)), NOW
    )
    assert plan.status["desiredReplicas"] == 1 and plan.set_costs
    plan = reconcile_workerpool(
        POOL, down, {}, PoolObserved(TARGETS, 99, deployment=deployment(1)), NOW
    )
    assert plan.status["desiredReplicas"] > 1 and not plan.set_costs
    manual = {**POOL_SPEC, "autoscaling": {"enabled": False}, "replicas": 1}
    plan = reconcile_workerpool(
        POOL, manual, {}, PoolObserved(TARGETS, 0, deployment=deployment(3)), NOW
    )
    assert plan.set_costs


def pod(name: str, cost: str | None = None, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if cost is not None:
        meta["annotations"] = {POD_DELETION_COST: cost}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": meta}


def test_cost_patches_mark_busy_pods_and_skip_what_is_right() -> None:
    pods = [pod("a"), pod("b", "0"), pod("c", "3"), pod("d", "1"), pod("e", deleting=True)]
    patches = cost_patches(pods, {"a": 2, "c": 3, "d": 0, "stale-worker": 5})
    assert patches == {
        "a": {"metadata": {"annotations": {POD_DELETION_COST: "2"}}},
        "d": {"metadata": {"annotations": {POD_DELETION_COST: "0"}}},
    }


def test_pdb_is_built_owned_and_planned() -> None:
    wp = spec(disruptionBudget={"minAvailable": "50%"})
    assert wp.disruption_budget is not None
    pdb = build_pdb(Owner("workers", "ns", "pool-uid"), wp.disruption_budget)
    assert pdb["spec"] == {
        "minAvailable": "50%",
        "selector": {"matchLabels": {"queues.blackroad.io/workerpool": "workers"}},
    }
    assert pdb["metadata"]["ownerReferences"][0]["uid"] == "pool-uid"
    raw = {**POOL_SPEC, "disruptionBudget": {"maxUnavailable": 1}}
    plan = reconcile_workerpool(POOL, raw, {}, PoolObserved(TARGETS, 0), NOW)
    assert plan.pdb_action == "create" and plan.pdb is not None
    same = PoolObserved(TARGETS, 0, pdb=plan.pdb)
    assert reconcile_workerpool(POOL, raw, {}, same, NOW).pdb_action == "none"
    changed = {**POOL_SPEC, "disruptionBudget": {"minAvailable": 2}}
    assert reconcile_workerpool(POOL, changed, {}, same, NOW).pdb_action == "update"
    assert reconcile_workerpool(POOL, POOL_SPEC, {}, same, NOW).pdb_action == "delete"
    foreign = PoolObserved(TARGETS, 0, pdb={"metadata": {}, "spec": {"maxUnavailable": 3}})
    assert reconcile_workerpool(POOL, POOL_SPEC, {}, foreign, NOW).pdb_action == "none"
    assert reconcile_workerpool(POOL, changed, {}, foreign, NOW).pdb_action == "none"


@pytest.mark.parametrize(
    "budget",
    [
        {},
        {"minAvailable": 1, "maxUnavailable": 1},
        {"minAvailable": "half"},
        {"maxUnavailable": -1},
    ],
)
def test_bad_budgets_are_refused(budget: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"minAvailable|percentage|negative"):
        spec(disruptionBudget=budget)


def test_external_deployment_has_no_replicas_and_operator_mode_has() -> None:
    owner, redis = Owner("w", "ns", "u"), SecretRef("r", "url")
    assert "replicas" not in build_deployment(owner, spec(), "q", redis, None)["spec"]
    assert build_deployment(owner, spec(), "q", redis, 0)["spec"]["replicas"] == 0
