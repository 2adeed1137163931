"""Operator tier: deletion policies, schema rejections, InvalidSpec, QueueNameConflict, examples."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.devcluster.conftest import KubectlFn
from tests.devcluster.kube import Kube
from tests.operator.conftest import (
    GROUP_PATH,
    ROOT,
    condition,
    cr,
    run_operator,
    status,
    to_yaml,
    wait_for,
)
from worker_runtime.client import SyncClient


def _ready(kube: Kube, namespace: str, name: str) -> bool:
    return condition(status(kube, namespace, "jobqueues", name), "Ready").get("status") == "True"


def test_deletion_policies(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    redis_url: str,
    r: redis.Redis,
) -> None:
    docs = [
        cr("JobQueue", "keep", {"deletionPolicy": "Retain"}),
        cr("JobQueue", "drop", {"deletionPolicy": "Delete"}),
    ]
    with run_operator(namespace) as runner:
        kubectl("apply", "-f", "-", input=to_yaml(*docs))
        wait_for(
            lambda: _ready(kube, namespace, "keep") and _ready(kube, namespace, "drop"),
            what="both queues ready",
        )
        with SyncClient(redis_url) as client:
            client.enqueue("keep", "noop")
            client.enqueue("drop", "noop")
        kubectl("delete", "jq", "keep", "drop", "--wait=true", timeout=30)
        assert r.zcard("brq:{keep}:pending") == 1
        assert r.exists("brq:{keep}:config")
        assert not [k for k in r.keys("brq:{drop}:*")]
        assert "drop" not in r.smembers("brq:queues")
        assert r.hgetall("brq:operator:claims") == {}
    assert runner.exception is None, runner.output


def test_invalid_specs_rejected_with_the_field_named(
    operator_env: None, kubectl: KubectlFn, kube: Kube, namespace: str, redis_secret: str
) -> None:
    bad = kubectl(
        "apply", "-f", "-", check=False, input=to_yaml(cr("JobQueue", "q", {"maxAttempts": 0}))
    )
    assert bad.returncode != 0 and "spec.maxAttempts" in bad.stderr
    bad = kubectl(
        "apply", "-f", "-", check=False, input=to_yaml(cr("JobQueue", "q", {"fairness": "random"}))
    )
    assert bad.returncode != 0 and "spec.fairness" in bad.stderr
    demote = {"agingRules": [{"fromPriority": 0, "toPriority": 10, "afterMs": 60000}]}
    bad = kubectl("apply", "-f", "-", check=False, input=to_yaml(cr("JobQueue", "q", demote)))
    assert bad.returncode != 0 and "toPriority must be a higher level" in bad.stderr
    pool = {
        "queues": [{"name": "q"}],
        "image": "i",
        "handlers": "m",
        "autoscaling": {"minReplicas": 5, "maxReplicas": 2},
    }
    bad = kubectl("apply", "-f", "-", check=False, input=to_yaml(cr("WorkerPool", "p", pool)))
    assert bad.returncode != 0 and "minReplicas must not exceed maxReplicas" in bad.stderr
    often = cr("Schedule", "s", {"cron": "often", "queue": "q", "jobName": "noop"})
    bad = kubectl("apply", "-f", "-", check=False, input=to_yaml(often))
    assert bad.returncode != 0 and "spec.cron" in bad.stderr
    kubectl("apply", "-f", "-", input=to_yaml(cr("JobQueue", "q", {"queueName": "one"})))
    bad = kubectl(
        "patch", "jq", "q", "--type=merge", "-p", '{"spec":{"queueName":"two"}}', check=False
    )
    assert bad.returncode != 0 and "queueName is immutable" in bad.stderr
    # What the schema cannot catch becomes Ready=False InvalidSpec, not a crash loop.
    queues = [{"name": "q", "weight": 2}, {"name": "r"}]
    weighted = {"queues": queues, "image": "i", "handlers": "m"}
    with run_operator(namespace) as runner:
        kubectl("apply", "-f", "-", input=to_yaml(cr("WorkerPool", "p", weighted)))
        cond = wait_for(
            lambda: condition(status(kube, namespace, "workerpools", "p"), "Ready"),
            what="InvalidSpec",
        )
        assert cond["reason"] == "InvalidSpec" and "spec.queues" in cond["message"]
        events = kubectl("get", "events", "-o", "yaml").stdout
        assert "InvalidSpec" in events
    assert runner.exception is None, runner.output


def test_queue_name_conflict(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
) -> None:
    with run_operator(namespace) as runner:
        kubectl("apply", "-f", "-", input=to_yaml(cr("JobQueue", "first", {"queueName": "shared"})))
        wait_for(lambda: _ready(kube, namespace, "first"), what="first ready")
        kubectl(
            "apply", "-f", "-", input=to_yaml(cr("JobQueue", "second", {"queueName": "shared"}))
        )
        cond = wait_for(
            lambda: condition(status(kube, namespace, "jobqueues", "second"), "Degraded"),
            what="conflict",
        )
        assert cond["reason"] == "QueueNameConflict"
        assert f"{namespace}/first" in cond["message"]
        # Once the first is gone, the second takes the queue over.
        kubectl("delete", "jq", "first", "--wait=true", timeout=30)
        wait_for(lambda: _ready(kube, namespace, "second"), what="second takes over")
    assert runner.exception is None, runner.output


def test_manifests_parse_and_examples_validate(kubectl: KubectlFn, kube: Kube) -> None:
    import yaml

    for path in sorted((ROOT / "manifests").rglob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
        assert docs, path
    rendered = kubectl("kustomize", str(ROOT / "manifests")).stdout
    kinds = {d["kind"] for d in yaml.safe_load_all(rendered) if d}
    wanted = (
        "Namespace CustomResourceDefinition ClusterRole Deployment NetworkPolicy ServiceAccount"
    )
    assert set(wanted.split()) <= kinds
    examples = kubectl("kustomize", str(ROOT / "manifests" / "examples")).stdout
    kube.post("/api/v1/namespaces", {"metadata": {"name": "blackroad"}})
    applied = kubectl("apply", "--namespace=blackroad", "-f", "-", input=examples)
    assert "jobqueue.queues.blackroad.io/lucidia" in applied.stdout
    assert "schedule.queues.blackroad.io/nightly-cleanup" in applied.stdout
    got = kube.get(f"{GROUP_PATH}/namespaces/blackroad/workerpools/agents").body
    assert got["spec"]["autoscaling"]["scaleUpStabilizationSeconds"] == 0  # defaulted
    kube.delete("/api/v1/namespaces/blackroad")
