"""Operator tier: a WorkerPool's Deployment runs real workers and scales on real backlog."""

from __future__ import annotations

from typing import Any

from tests.devcluster.conftest import KubectlFn
from tests.devcluster.kube import Kube
from tests.operator.conftest import condition, cr, log, run_operator, status, to_yaml, wait_for
from worker_runtime.client import SyncClient
from worker_runtime.models import JobSpec

POOL = {
    "queues": [{"name": "lucidia"}, {"name": "alice"}],
    "image": "ghcr.io/blackroad/worker:test",
    "handlers": "worker_runtime.examples",
    "concurrency": 2,
    "terminationGracePeriodSeconds": 4,
    "autoscaling": {
        "minReplicas": 1,
        "maxReplicas": 3,
        "targetBacklogPerReplica": 2,
        "scaleDownStabilizationSeconds": 3,
        "pollSeconds": 1,
    },
}


def deployment(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    got = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    return got.body if got.status == 200 else {}


def replicas(kube: Kube, namespace: str, name: str) -> int | None:
    return (deployment(kube, namespace, name).get("spec") or {}).get("replicas")


def test_pool_scales_up_on_backlog_and_back_to_min(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    redis_url: str,
) -> None:
    with run_operator(namespace) as runner:
        docs = [
            cr("JobQueue", "lucidia", {}),
            cr("JobQueue", "alice", {}),
            cr("WorkerPool", "agents", POOL),
        ]
        kubectl("apply", "-f", "-", input=to_yaml(*docs))
        wait_for(lambda: replicas(kube, namespace, "agents") == 1, what="Deployment with 1 replica")
        dep = deployment(kube, namespace, "agents")
        assert dep["metadata"]["ownerReferences"][0]["kind"] == "WorkerPool"
        assert "redis://" not in str(dep) and "redis://" not in str(
            status(kube, namespace, "workerpools", "agents")
        )
        wait_for(
            lambda: (
                condition(status(kube, namespace, "workerpools", "agents"), "Ready").get("status")
                == "True"
            ),
            what="the worker to be ready",
            timeout=30,
        )

        with SyncClient(redis_url) as client:
            client.enqueue_many(
                JobSpec("lucidia" if i % 2 else "alice", "agent_task:inference", {"ms": 1500})
                for i in range(16)
            )
        wait_for(lambda: replicas(kube, namespace, "agents") == 3, what="scale up to max")
        table = kubectl("get", "wp").stdout
        log(table)
        assert "QUEUES" in table and "lucidia,alice" in table
        st = wait_for(
            lambda: (
                (s := status(kube, namespace, "workerpools", "agents")).get("readyReplicas") == 3
                and s
            ),
            what="three ready workers",
            timeout=30,
        )
        assert st["desiredReplicas"] == 3
        # The workers drain the queues; after the 3 s window the pool returns to min.
        wait_for(lambda: replicas(kube, namespace, "agents") == 1, what="scale down", timeout=40)
        st = status(kube, namespace, "workerpools", "agents")
        assert st["backlog"] == 0
        assert "scaled down" in st["lastScaleReason"]
        with SyncClient(redis_url) as client:
            assert client.stats("lucidia").completed + client.stats("alice").completed == 16
        events = kubectl("get", "events", "-o", "yaml").stdout
        assert "ScaledUp" in events and "ScaledDown" in events
    assert runner.exception is None, runner.output


def test_kubectl_scale_and_manual_mode(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
) -> None:
    manual = {**POOL, "autoscaling": {"enabled": False}, "replicas": 1}
    with run_operator(namespace) as runner:
        kubectl(
            "apply",
            "-f",
            "-",
            input=to_yaml(
                cr("JobQueue", "lucidia", {}),
                cr("JobQueue", "alice", {}),
                cr("WorkerPool", "agents", manual),
            ),
        )
        wait_for(lambda: replicas(kube, namespace, "agents") == 1, what="1 replica")
        kubectl("scale", "wp", "agents", "--replicas=2")
        wait_for(lambda: replicas(kube, namespace, "agents") == 2, what="kubectl scale applied")
        # With autoscaling on, `kubectl scale` sets a floor the autoscaler keeps.
        kubectl(
            "patch",
            "wp",
            "agents",
            "--type=merge",
            "-p",
            '{"spec":{"autoscaling":{"enabled":true,"minReplicas":0,"maxReplicas":3,'
            '"pollSeconds":1,"scaleDownStabilizationSeconds":1}}}',
        )
        kubectl("scale", "wp", "agents", "--replicas=3")
        wait_for(lambda: replicas(kube, namespace, "agents") == 3, what="floor raised to 3")
        kubectl("scale", "wp", "agents", "--replicas=0")
        wait_for(lambda: replicas(kube, namespace, "agents") == 0, what="floor removed: to zero")
        over = kubectl("scale", "wp", "agents", "--replicas=7", check=False)
        log(over.stderr)
        # A deleted Deployment comes back (exactly one, same name).
        kube.delete(f"/apis/apps/v1/namespaces/{namespace}/deployments/agents")
        wait_for(lambda: deployment(kube, namespace, "agents").get("metadata"), what="recreated")
    assert runner.exception is None, runner.output
