"""Applies a WorkerPool plan: pod deletion costs first, then the Deployment, then the PDB."""

from __future__ import annotations

import logging

from queue_operator import kube, observe
from queue_operator.builders.deployment import selector_string
from queue_operator.reconcile.common import Meta
from queue_operator.reconcile.podcost import cost_patches
from queue_operator.reconcile.workerpool import PoolObserved, PoolPlan
from queue_operator.redis_admin import RedisAdmin, RedisAdminError

log = logging.getLogger("blackroad.operator")


async def apply_pool_plan(
    admin: RedisAdmin, meta: Meta, plan: PoolPlan, observed: PoolObserved
) -> None:
    """Costs before replicas: the ReplicaSet must see them when it picks pods to remove."""
    if plan.set_costs:
        await set_deletion_costs(admin, meta, observed)
    await _apply_deployment(meta, plan)
    await _apply_pdb(meta, plan)


async def _apply_deployment(meta: Meta, plan: PoolPlan) -> None:
    if plan.deployment is None or plan.action == "none":
        return
    if plan.action == "create":
        await kube.create_deployment(plan.deployment)
        return
    desired = plan.deployment
    await kube.patch_deployment(
        meta.namespace,
        meta.name,
        {"metadata": {"labels": desired["metadata"]["labels"]}, "spec": desired["spec"]},
    )


async def set_deletion_costs(admin: RedisAdmin, meta: Meta, observed: PoolObserved) -> None:
    """Marks busy pods costly so the ReplicaSet removes idle ones first (best effort)."""
    url = await observe.pool_redis_url(meta.namespace, observed)
    if url is None:
        return
    try:
        in_flight = await admin.workers_in_flight(url)
    except RedisAdminError as exc:
        log.warning(
            "WorkerPool %s: jobs in flight unknown (%s); pods keep their costs", meta.name, exc
        )
        return
    pods = await kube.list_pods(meta.namespace, selector_string(meta.name))
    for pod, patch in cost_patches(pods, in_flight).items():
        try:
            await kube.patch_pod(meta.namespace, pod, patch)
        except kube.KubeError as exc:
            log.warning(
                "WorkerPool %s: cannot set the deletion cost of %s: %s", meta.name, pod, exc
            )


async def _apply_pdb(meta: Meta, plan: PoolPlan) -> None:
    if plan.pdb_action == "delete":
        await kube.delete_pdb(meta.namespace, meta.name)
    elif plan.pdb is not None and plan.pdb_action != "none":
        await kube.apply_pdb(plan.pdb, create=plan.pdb_action == "create")
