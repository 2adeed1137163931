"""Builds the worker Deployment of a WorkerPool (restricted pod security, probes, metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from queue_operator.constants import (
    API_VERSION,
    LABEL_MANAGED_BY,
    LABEL_POOL,
    MANAGED_BY,
    METRICS_PORT,
    WORKER_COMMAND,
)
from queue_operator.models.workerpool import WorkerPoolSpec

JSON = dict[str, Any]

#: Variables the operator sets; user env with these names is refused (InvalidSpec).
RESERVED_ENV = ("REDIS_URL", "QUEUES", "HANDLERS", "WORKER_CONCURRENCY", "PORT")
#: The non-root user of the worker image (see Dockerfile).
WORKER_UID = 10001
#: Where the Redis Secret's optional TLS keys (ca.crt, tls.crt, tls.key) are mounted; the
#: worker adds them to a rediss:// URL's ssl_* parameters (REDIS_TLS_DIR).
REDIS_TLS_DIR = "/etc/blackroad/redis-tls"
REDIS_TLS_KEYS = ("ca.crt", "tls.crt", "tls.key")


@dataclass(frozen=True)
class Owner:
    """The WorkerPool owning the Deployment."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str


#: The grace a pool gets at least (Kubernetes' default), whatever its queues' timeouts.
MIN_DERIVED_GRACE = 30
#: Seconds added to the longest job timeout: the worker's exit margin (see worker_grace_seconds).
GRACE_MARGIN = 5


def termination_grace(spec: WorkerPoolSpec, longest_timeout_ms: int | None) -> int:
    """spec.terminationGracePeriodSeconds, else the longest job timeout plus the exit margin,
    at least MIN_DERIVED_GRACE and at most spec.maxGraceSeconds."""
    if spec.termination_grace_period_seconds is not None:
        return spec.termination_grace_period_seconds
    timeout_s = -(-(longest_timeout_ms or 0) // 1000)
    return min(max(timeout_s + GRACE_MARGIN, MIN_DERIVED_GRACE), spec.max_grace_seconds)


def worker_grace_seconds(termination_grace: int) -> int:
    """The worker's own grace: leave min(5 s, half) for exit before the kubelet's SIGKILL."""
    return termination_grace - min(5, termination_grace // 2)


def pool_labels(pool: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "blackroad-worker",
        "app.kubernetes.io/instance": pool,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_POOL: pool,
    }


def selector(pool: str) -> dict[str, str]:
    return {LABEL_POOL: pool}


def selector_string(pool: str) -> str:
    return ",".join(f"{k}={v}" for k, v in selector(pool).items())


def owner_reference(owner: Owner) -> JSON:
    return {
        "apiVersion": API_VERSION,
        "kind": "WorkerPool",
        "name": owner.name,
        "uid": owner.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_deployment(
    owner: Owner,
    spec: WorkerPoolSpec,
    queues: str,
    redis: SecretRef,
    replicas: int | None,
    grace: int = MIN_DERIVED_GRACE,
) -> JSON:
    """The Deployment running ``spec`` for the engine queues ``queues`` (QUEUES syntax), with
    ``grace`` seconds of termination grace; ``replicas`` None leaves them to someone else
    (an HPA or KEDA: autoscaling.mode external)."""
    labels = pool_labels(owner.name)
    pod = spec.pod
    pod_labels = {**(pod.labels if pod and pod.labels else {}), **labels}
    template_meta: JSON = {"labels": pod_labels}
    if pod and pod.annotations:
        template_meta["annotations"] = dict(pod.annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": owner.name,
            "namespace": owner.namespace,
            "labels": labels,
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {
            **({"replicas": replicas} if replicas is not None else {}),
            "selector": {"matchLabels": selector(owner.name)},
            "template": {
                "metadata": template_meta,
                "spec": _pod_spec(spec, queues, redis, grace),
            },
        },
    }


def _pod_spec(spec: WorkerPoolSpec, queues: str, redis: SecretRef, grace: int) -> JSON:
    pod = spec.pod
    out: JSON = {
        "terminationGracePeriodSeconds": grace,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": WORKER_UID,
            "runAsGroup": WORKER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(spec, queues, redis, grace)],
        # The root filesystem is read-only; /tmp is the one writable place (tempfile users).
        "volumes": [{"name": "tmp", "emptyDir": {}}, _tls_volume(redis)],
    }
    if pod is not None:
        optional: JSON = {
            "nodeSelector": pod.node_selector,
            "tolerations": pod.tolerations,
            "affinity": pod.affinity,
            "serviceAccountName": pod.service_account_name,
            "priorityClassName": pod.priority_class_name,
            "imagePullSecrets": [{"name": n} for n in pod.image_pull_secrets]
            if pod.image_pull_secrets
            else None,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _tls_volume(redis: SecretRef) -> JSON:
    """The Redis Secret's TLS keys as files; ``optional``: a Secret without them (or a key
    missing) mounts what there is, which may be nothing."""
    return {
        "name": "redis-tls",
        "secret": {
            "secretName": redis.name,
            "items": [{"key": k, "path": k} for k in REDIS_TLS_KEYS],
            "optional": True,
        },
    }


def _container(spec: WorkerPoolSpec, queues: str, redis: SecretRef, pod_grace: int) -> JSON:
    grace = worker_grace_seconds(pod_grace)
    env: list[JSON] = [
        {
            "name": "REDIS_URL",
            "valueFrom": {"secretKeyRef": {"name": redis.name, "key": redis.key}},
        },
        {"name": "QUEUES", "value": queues},
        {"name": "HANDLERS", "value": spec.handlers},
        {"name": "WORKER_CONCURRENCY", "value": str(spec.concurrency)},
        # PORT names the metrics port so the args can say $(PORT); local kubelets that remap
        # ports (the devcluster) rewrite PORT accordingly.
        {"name": "PORT", "value": str(METRICS_PORT)},
        {"name": "WORKER_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "REDIS_TLS_DIR", "value": REDIS_TLS_DIR},
    ]
    env += [dict(e) for e in spec.env or []]
    probe = {"httpGet": {"path": "/readyz", "port": "metrics"}, "periodSeconds": 5}
    container: JSON = {
        "name": "worker",
        "image": spec.image,
        "command": list(WORKER_COMMAND),
        "args": ["--metrics-port=$(PORT)", f"--grace={grace}s"],
        "env": env,
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "readinessProbe": probe,
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "redis-tls", "mountPath": REDIS_TLS_DIR, "readOnly": True},
        ],
    }
    if spec.image_pull_policy:
        container["imagePullPolicy"] = spec.image_pull_policy
    if spec.env_from:
        container["envFrom"] = [dict(e) for e in spec.env_from]
    if spec.resources:
        container["resources"] = dict(spec.resources)
    return container


def is_subset(desired: Any, observed: Any) -> bool:
    """Whether ``observed`` already holds ``desired`` (extra server-side defaults allowed)."""
    if isinstance(desired, dict):
        return isinstance(observed, dict) and all(
            k in observed and is_subset(v, observed[k]) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(observed, list)
            and len(desired) == len(observed)
            and all(is_subset(d, o) for d, o in zip(desired, observed, strict=True))
        )
    return bool(desired == observed)
