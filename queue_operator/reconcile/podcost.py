"""Pure busy-aware scale-down: each worker pod's deletion cost from its jobs in flight.

A ReplicaSet removes pods with the lowest ``controller.kubernetes.io/pod-deletion-cost``
first, so idle workers go before busy ones. The cost is the number of jobs the worker held
at its last heartbeat (the engine's worker registry); a pod with no registration costs 0.
"""

from __future__ import annotations

from queue_operator.constants import POD_DELETION_COST
from queue_operator.reconcile.common import JSON

#: The annotation's value range (an int32, as the API server validates it).
MAX_COST = 2**31 - 1


def cost_of(in_flight: int) -> int:
    return max(0, min(in_flight, MAX_COST))


def cost_patches(pods: list[JSON], in_flight: dict[str, int]) -> dict[str, JSON]:
    """Pod name -> the merge patch setting its cost, for the pods whose cost is not yet right.

    Pods being deleted are left alone (their fate is decided already).
    """
    patches: dict[str, JSON] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        name = str(meta.get("name"))
        wanted = str(cost_of(in_flight.get(name, 0)))
        if (meta.get("annotations") or {}).get(POD_DELETION_COST) != wanted:
            patches[name] = {"metadata": {"annotations": {POD_DELETION_COST: wanted}}}
    return patches
