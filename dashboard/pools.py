"""The WorkerPools view: read through the operator's Kubernetes module, where a kubeconfig is."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolRow:
    namespace: str
    name: str
    queues: list[str]
    desired: int | None
    ready: int | None
    backlog: int | None
    last_scale_reason: str


@dataclass(frozen=True)
class Pools:
    rows: list[PoolRow]
    #: Why there are no rows to show (no kubeconfig, no operator extra, API unreachable).
    note: str = ""


def kubernetes_configured() -> bool:
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) or os.path.exists(kubeconfig)


def _row(pool: dict[str, Any]) -> PoolRow:
    meta, spec, status = (pool.get(k) or {} for k in ("metadata", "spec", "status"))
    return PoolRow(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        queues=[str(q.get("name")) for q in spec.get("queues") or []],
        desired=status.get("desiredReplicas"),
        ready=status.get("readyReplicas"),
        backlog=status.get("backlog"),
        last_scale_reason=str(status.get("lastScaleReason") or ""),
    )


async def worker_pools() -> Pools:
    """Every WorkerPool with its scaling status, or a note saying why there is none."""
    if not kubernetes_configured():
        return Pools([], "no kubeconfig (KUBECONFIG) and not in a cluster: no WorkerPools")
    try:
        from queue_operator import kube  # the operator extra: only when a cluster is there
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("queue_operator."):
            raise
        return Pools([], f"WorkerPools need the operator extra ({exc.name} is missing)")
    try:
        found = await kube.list_custom("workerpools")
    except Exception:  # the API is down or refuses: the page still renders
        # The detail (server address, account, the API's words) is for the operator's log,
        # not for whoever may read the page.
        log.warning("cannot list WorkerPools", exc_info=True)
        return Pools([], "cannot list WorkerPools now (the dashboard's log says why)")
    rows = sorted((_row(p) for p in found), key=lambda p: (p.namespace, p.name))
    return Pools(rows, "" if rows else "no WorkerPools in the cluster")
