"""Names shared by the CRDs, the builders and the operator: API group, labels, defaults."""

from __future__ import annotations

GROUP = "queues.blackroad.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "blackroad"

#: Labels on every object the operator creates for a WorkerPool.
LABEL_POOL = f"{GROUP}/workerpool"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "blackroad-queues-operator"

#: The Secret (in the resource's namespace) and key used when a JobQueue names no Redis.
DEFAULT_REDIS_SECRET = "blackroad-redis"
DEFAULT_REDIS_KEY = "url"

#: The worker's metrics/health port inside the pod (the image's METRICS_PORT default).
METRICS_PORT = 9100
#: The worker image's entrypoint, spelled out so every cluster (and the devcluster) runs it.
WORKER_COMMAND = ("blackroad", "worker", "start")

#: The annotation a ReplicaSet reads to pick the pods to remove first (lowest cost first).
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
