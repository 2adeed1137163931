"""Builds the PodDisruptionBudget of a WorkerPool's worker pods (spec.disruptionBudget)."""

from __future__ import annotations

from queue_operator.builders.deployment import (
    JSON,
    Owner,
    owner_reference,
    pool_labels,
    selector,
)
from queue_operator.models.workerpool import DisruptionBudget


def build_pdb(owner: Owner, budget: DisruptionBudget) -> JSON:
    """A policy/v1 PodDisruptionBudget over the pool's pods, owned (and collected) with it."""
    counts: JSON = (
        {"minAvailable": budget.min_available}
        if budget.min_available is not None
        else {"maxUnavailable": budget.max_unavailable}
    )
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": owner.name,
            "namespace": owner.namespace,
            "labels": pool_labels(owner.name),
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {**counts, "selector": {"matchLabels": selector(owner.name)}},
    }
