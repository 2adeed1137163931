"""Pure builders of what the kubelet reports: Pod objects and Deployment status."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from devcluster.meta import now

if TYPE_CHECKING:
    from devcluster.replica import Replica

JSON = dict[str, Any]


def _container_state(replica: Replica, finished: bool) -> JSON:
    if finished and replica.last_exit:
        return dict(replica.last_exit)
    if replica.alive:
        return {"running": {"startedAt": replica.started_at}}
    if replica.waiting_reason:
        return {"waiting": {"reason": replica.waiting_reason, "message": replica.waiting_message}}
    return {"waiting": {"reason": "ContainerCreating"}}


def _phase(replica: Replica, finished: bool) -> str:
    if finished:
        code = ((replica.last_exit or {}).get("terminated") or {}).get("exitCode", 1)
        return "Succeeded" if code == 0 else "Failed"
    if replica.alive:
        return "Running"
    return "Pending" if replica.restarts == 0 else "Running"


def pod_status(container: JSON, replica: Replica, finished: bool = False) -> JSON:
    """What the kubelet reports of one process; `finished` when restartPolicy ended it."""
    status: JSON = {
        "phase": _phase(replica, finished),
        "hostIP": "127.0.0.1",
        "podIP": "127.0.0.1",
        "conditions": [{"type": "Ready", "status": "True" if replica.ready else "False"}],
        "containerStatuses": [
            {
                "name": container.get("name", "main"),
                "image": container.get("image", ""),
                # Required by the official Python client's model; no image is ever pulled.
                "imageID": "devcluster://" + str(container.get("image", "")),
                "ready": replica.ready,
                "started": replica.alive,
                "restartCount": replica.restarts,
                "state": _container_state(replica, finished),
                **({"lastState": replica.last_exit} if replica.last_exit and not finished else {}),
            }
        ],
    }
    if replica.alive and replica.process is not None:
        status["startTime"] = replica.started_at
    return status


def kubelet_annotations(replica: Replica, ports_annotation: str) -> dict[str, str]:
    """The kubelet's notes on a Pod: its port mapping, log file and process id."""
    ports = {str(k): v for k, v in (replica.launch.ports if replica.launch else {}).items()}
    return {
        ports_annotation: json.dumps(ports, sort_keys=True),
        "devcluster.blackroad.io/log": str(replica.log_path),
        "devcluster.blackroad.io/pid": str(
            replica.process.pid if replica.alive and replica.process else ""
        ),
    }


def pod_object(deployment: JSON, container: JSON, replica: Replica, ports_annotation: str) -> JSON:
    """The read-only Pod view of one replica (owned by its Deployment, for GC)."""
    md = deployment["metadata"]
    template = copy.deepcopy((deployment.get("spec") or {}).get("template") or {})
    labels = {
        **((template.get("metadata") or {}).get("labels") or {}),
        "pod-template-hash": replica.template_hash,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": replica.pod_name,
            "namespace": md["namespace"],
            "labels": labels,
            "annotations": kubelet_annotations(replica, ports_annotation),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": md["name"],
                    "uid": md["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {**(template.get("spec") or {}), "nodeName": "devcluster"},
        "status": pod_status(container, replica),
    }


def _condition(old: list[JSON], kind: str, ok: bool, reason: str, message: str) -> JSON:
    status = "True" if ok else "False"
    previous = next((c for c in old if c.get("type") == kind), None)
    stamp = (
        previous["lastTransitionTime"]
        if previous and previous.get("status") == status and previous.get("lastTransitionTime")
        else now()
    )
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": stamp,
        "lastUpdateTime": stamp,
    }


def deployment_status(deployment: JSON, replicas: list[Replica], template_hash: str) -> JSON:
    wanted = int((deployment.get("spec") or {}).get("replicas", 1))
    ready = sum(1 for r in replicas if r.ready)
    updated = sum(1 for r in replicas if r.template_hash == template_hash)
    old = (deployment.get("status") or {}).get("conditions") or []
    status: JSON = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": len(replicas),
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            _condition(
                old,
                "Available",
                ready >= wanted,
                "MinimumReplicasAvailable" if ready >= wanted else "MinimumReplicasUnavailable",
                f"{ready} of {wanted} replicas are ready",
            ),
            _condition(
                old,
                "Progressing",
                True,
                "NewReplicaSetAvailable",
                "the devcluster kubelet runs the current template",
            ),
        ],
    }
    if wanted - ready > 0:
        status["unavailableReplicas"] = wanted - ready
    # Kubernetes omits zero counts; kubectl and clients treat a missing count as 0.
    return {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}
