"""Unit: the worker Deployment builder (security, probes, env from the Secret, grace)."""

from __future__ import annotations

import json

from queue_operator.builders.deployment import (
    Owner,
    SecretRef,
    build_deployment,
    is_subset,
    worker_grace_seconds,
)
from queue_operator.models import WorkerPoolSpec

SPEC = WorkerPoolSpec.model_validate(
    {
        "queues": [{"name": "lucidia"}, {"name": "alice"}],
        "image": "ghcr.io/blackroad/worker:1",
        "handlers": "worker_runtime.examples",
        "concurrency": 20,
        "env": [{"name": "LOG_LEVEL", "value": "debug"}],
        "pod": {"nodeSelector": {"pool": "cpu"}, "serviceAccountName": "workers"},
    }
)


def build(replicas: int = 2) -> dict:  # type: ignore[type-arg]
    return build_deployment(
        Owner("agents", "ns", "uid-1"), SPEC, "lucidia,alice", SecretRef("redis", "url"), replicas
    )


def test_restricted_pod_security() -> None:
    pod = build()["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}


def test_env_probes_ports_and_grace() -> None:
    dep = build()
    container = dep["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["REDIS_URL"]["valueFrom"] == {"secretKeyRef": {"name": "redis", "key": "url"}}
    assert env["QUEUES"]["value"] == "lucidia,alice"
    assert env["WORKER_CONCURRENCY"]["value"] == "20"
    assert env["LOG_LEVEL"]["value"] == "debug"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"][0]["containerPort"] == 9100
    grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert f"--grace={worker_grace_seconds(grace)}s" in container["args"]
    assert worker_grace_seconds(grace) < grace
    assert dep["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "cpu"}
    assert dep["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert dep["spec"]["replicas"] == 2


def test_no_secret_value_anywhere() -> None:
    assert "redis://" not in json.dumps(build())


def test_grace_margin() -> None:
    assert [worker_grace_seconds(t) for t in (2, 5, 10, 30, 600)] == [1, 3, 5, 25, 595]


def test_is_subset_allows_server_defaults() -> None:
    desired = build()["spec"]
    observed = json.loads(json.dumps(desired))
    observed["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/x"
    observed["strategy"] = {"type": "RollingUpdate"}
    assert is_subset(desired, observed)
    observed["replicas"] = 3
    assert not is_subset(desired, observed)
