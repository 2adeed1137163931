"""Pods take metadata patches, and scale-down removes them in a ReplicaSet's order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from devcluster import Cluster
from devcluster.replica import Replica, deletion_cost, to_delete
from tests.devcluster.conftest import make_kubectl, wait_for
from tests.devcluster.kube import Kube
from tests.devcluster.test_kubelet import DEPLOYMENTS, PODS, _deployment, _pods, _status


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with Cluster(state_dir=tmp_path / "state", restart_backoff=(0.2, 1.0)) as running:
        yield running


@pytest.fixture
def kube(cluster: Cluster) -> Kube:  # these need a kubelet
    return Kube(cluster.kubeconfig)


COST = "controller.kubernetes.io/pod-deletion-cost"
SLEEPER = "import time; time.sleep(600)"


def _replica(name: str, *, alive: bool, ready: bool, restarts: int = 0, age: float = 0) -> Replica:
    replica = Replica(0, name, "hash", Path("/dev/null"), (1, 1))
    replica.restarts = restarts
    replica.created = time.time() - age
    if ready:
        replica.ready = True
        replica.ready_since = replica.created
    if alive:
        replica.process = type("Running", (), {"poll": lambda self: None, "pid": 0})()
    return replica


def _pod(cost: str | None) -> dict[str, Any]:
    return {"metadata": {"annotations": {COST: cost}}} if cost is not None else {"metadata": {}}


def test_ranking_follows_the_replicaset() -> None:
    pending = _replica("pending", alive=False, ready=False)
    unready = _replica("unready", alive=True, ready=False)
    busy = _replica("busy", alive=True, ready=True, age=1)
    idle_new = _replica("idle-new", alive=True, ready=True, age=1)
    idle_old = _replica("idle-old", alive=True, ready=True, age=4000)
    crashy = _replica("crashy", alive=True, ready=True, restarts=3, age=4000)
    replicas = [busy, idle_old, crashy, idle_new, unready, pending]
    pods = {"busy": _pod("5"), "idle-new": _pod("0"), "idle-old": _pod(None)}
    order = [r.pod_name for r in to_delete(replicas, pods, len(replicas))]
    # Pending, then not ready, then cost 0 (newest ready first, more restarts first among
    # equals in age), the costly one last.
    assert order == ["pending", "unready", "idle-new", "crashy", "idle-old", "busy"]
    assert to_delete(replicas, pods, 0) == []
    assert deletion_cost(_pod("not-a-number")) == 0 and deletion_cost(_pod("-7")) == -7
    assert deletion_cost(_pod(str(2**31))) == 0  # outside int32: the API refuses it


def test_pods_accept_label_and_annotation_patches_only(
    cluster: Cluster, kube: Kube, tmp_path: Path
) -> None:
    kube.post(DEPLOYMENTS, _deployment("meta", SLEEPER))
    pod = wait_for(
        lambda: _status(kube, "meta").get("readyReplicas") == 1 and _pods(kube, "meta")[0],
        what="a ready pod",
    )
    path = f"{PODS}/{pod['metadata']['name']}"
    merged = kube.patch(path, {"metadata": {"annotations": {COST: "7"}, "labels": {"x": "1"}}})
    assert merged.status == 200, merged.text
    assert merged.body["metadata"]["annotations"][COST] == "7"
    strategic = {"metadata": {"labels": {"y": "2"}}}
    assert kube.patch(path, strategic, kind="strategic").status == 200
    op = [
        {"op": "replace", "path": f"/metadata/annotations/{COST.replace('/', '~1')}", "value": "9"}
    ]
    assert kube.patch(path, op, kind="json").status == 200
    got = kube.get(path).body["metadata"]
    assert (
        got["annotations"][COST] == "9" and got["labels"]["x"] == "1" and got["labels"]["y"] == "2"
    )
    # The kubelet's own annotations stay current next to the client's.
    assert got["annotations"]["devcluster.blackroad.io/pid"]
    refused = kube.patch(path, {"spec": {"terminationGracePeriodSeconds": 1}})
    assert refused.status == 422, refused.text
    assert kube.patch(f"{path}/status", {"status": {"phase": "Failed"}}).status == 405
    assert kube.put(path, kube.get(path).body).status == 405
    stale = {"metadata": {"resourceVersion": "1", "labels": {"z": "3"}}}
    assert kube.patch(path, stale).status == 409
    time.sleep(0.6)  # a few kubelet passes rewrite the pod's status
    assert kube.get(path).body["metadata"]["annotations"][COST] == "9"
    core = kube.get("/api/v1").body["resources"]
    assert "patch" in next(r for r in core if r["name"] == "pods")["verbs"]
    # The official Python client's default content type for a dict body (strategic merge).
    api_client = config.new_client_from_config(str(cluster.kubeconfig))  # type: ignore[no-untyped-call]
    api = client.CoreV1Api(api_client)
    body = {"metadata": {"annotations": {COST: "10"}}}
    api.patch_namespaced_pod(pod["metadata"]["name"], "default", body)
    assert kube.get(path).body["metadata"]["annotations"][COST] == "10"
    kubectl = make_kubectl(Path(cluster.kubeconfig), tmp_path / "cache", "default")
    kubectl("annotate", "pod", pod["metadata"]["name"], f"{COST}=11", "--overwrite")
    kubectl("label", "pod", pod["metadata"]["name"], "tier=batch")
    got = kube.get(path).body["metadata"]
    assert got["annotations"][COST] == "11" and got["labels"]["tier"] == "batch"


@pytest.mark.parametrize("keep", [0, 1, 2])
def test_scale_down_removes_cheap_pods_first(kube: Kube, keep: int) -> None:
    kube.post(DEPLOYMENTS, _deployment("costly", SLEEPER, replicas=3, grace=1))
    pods = wait_for(
        lambda: _status(kube, "costly").get("readyReplicas") == 3 and _pods(kube, "costly"),
        what="3 ready pods",
    )
    names = sorted(p["metadata"]["name"] for p in pods)
    survivor = names[keep]
    for name in names:
        cost = "100" if name == survivor else "0"
        kube.patch(f"{PODS}/{name}", {"metadata": {"annotations": {COST: cost}}})
    kube.patch(f"{DEPLOYMENTS}/costly", {"spec": {"replicas": 1}})
    left = wait_for(
        lambda: (p := _pods(kube, "costly")) and len(p) == 1 and p,
        what="one pod left",
    )
    assert left[0]["metadata"]["name"] == survivor
    # Scaling up again fills the freed slots with new pods.
    kube.patch(f"{DEPLOYMENTS}/costly", {"spec": {"replicas": 2}})
    wait_for(lambda: _status(kube, "costly").get("readyReplicas") == 2, what="2 ready again")
    assert survivor in {p["metadata"]["name"] for p in _pods(kube, "costly")}
