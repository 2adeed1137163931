"""`blackroad worker scale QUEUE N`: sets the replicas of the WorkerPool that serves a queue,
through the Kubernetes API (kubeconfig or in-cluster), as `kubectl scale wp` does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from queue_operator import kube
from queue_operator.problems import Problem
from queue_operator.reconcile.common import JSON
from queue_operator.reconcile.jobqueue import queue_target


class ScaleError(Exception):
    """What stops the scaling, in one line a person can act on."""


@dataclass(frozen=True)
class Scaled:
    namespace: str
    pool: str
    replicas: int
    previous: int | None


def _engine_queues(queues: list[JSON]) -> dict[tuple[str, str], str]:
    """(namespace, JobQueue name) -> the engine queue it manages, by the operator's rule."""
    out = {}
    for jq in queues:
        meta = jq.get("metadata") or {}
        ns, name = str(meta.get("namespace")), str(meta.get("name"))
        target = queue_target(name, jq.get("spec") or {})
        out[(ns, name)] = name if isinstance(target, Problem) else target.queue_name
    return out


def pools_serving(queue: str, pools: list[JSON], queues: list[JSON]) -> list[tuple[str, str]]:
    """(namespace, name) of each WorkerPool whose queues include the engine queue ``queue``."""
    engine = _engine_queues(queues)
    found = []
    for pool in pools:
        meta = pool.get("metadata") or {}
        ns, name = str(meta.get("namespace")), str(meta.get("name"))
        names = [str(q.get("name")) for q in (pool.get("spec") or {}).get("queues") or []]
        if any(engine.get((ns, n), n) == queue for n in names):
            found.append((ns, name))
    return sorted(found)


def choose(queue: str, serving: list[tuple[str, str]], pool: str | None) -> tuple[str, str]:
    """The one pool to scale; ``pool`` is NAME or NAMESPACE/NAME among those serving."""
    if pool is not None:
        chosen = [p for p in serving if pool in (p[1], f"{p[0]}/{p[1]}")]
        if len(chosen) == 1:
            return chosen[0]
        listed = ", ".join(f"{ns}/{n}" for ns, n in serving) or "none"
        raise ScaleError(f"--pool {pool}: not one of the WorkerPools serving {queue!r} ({listed})")
    if not serving:
        raise ScaleError(
            f"queue {queue!r}: no WorkerPool serves it; 'kubectl get wp -A' lists the pools"
        )
    if len(serving) > 1:
        listed = ", ".join(f"{ns}/{n}" for ns, n in serving)
        raise ScaleError(
            f"queue {queue!r}: several WorkerPools serve it ({listed}); pick one with --pool"
        )
    return serving[0]


async def scale_queue(
    queue: str, replicas: int, pool: str | None = None, namespace: str | None = None
) -> Scaled:
    try:
        pools = await kube.list_custom("workerpools", namespace)
        queues = await kube.list_custom("jobqueues", namespace)
        ns, name = choose(queue, pools_serving(queue, pools, queues), pool)
        before = next(
            (p.get("spec") or {}).get("replicas")
            for p in pools
            if (p["metadata"]["namespace"], p["metadata"]["name"]) == (ns, name)
        )
        await kube.scale_custom("workerpools", ns, name, replicas)
    except kube.KubeError as exc:
        raise ScaleError(f"the Kubernetes API refused: {exc}") from None
    return Scaled(ns, name, replicas, before)


def scale(queue: str, replicas: int, pool: str | None, namespace: str | None) -> Scaled:
    """The blocking entry point of the CLI: every failure becomes one ScaleError line."""
    try:
        return asyncio.run(scale_queue(queue, replicas, pool, namespace))
    except Exception as exc:
        if not kube.not_configured_or_unreachable(exc):
            raise
        raise ScaleError(
            f"no Kubernetes API reachable ({type(exc).__name__}: {str(exc)[:200]}); set "
            "KUBECONFIG, or run inside a cluster"
        ) from None
