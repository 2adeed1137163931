"""The worker Deployment mounts the Redis Secret's optional TLS keys and tells the worker
where (REDIS_TLS_DIR), which adds them to a rediss:// URL's ssl_* parameters."""

from __future__ import annotations

from typing import Any

from queue_operator.builders.deployment import (
    REDIS_TLS_DIR,
    Owner,
    SecretRef,
    build_deployment,
)
from queue_operator.models import WorkerPoolSpec

SPEC = WorkerPoolSpec.model_validate(
    {"queues": [{"name": "q"}], "image": "worker:1", "handlers": "worker_runtime.examples"}
)


def _pod() -> dict[str, Any]:
    dep = build_deployment(Owner("p", "ns", "uid"), SPEC, "q", SecretRef("redis", "url"), 1)
    pod: dict[str, Any] = dep["spec"]["template"]["spec"]
    return pod


def test_tls_keys_of_the_secret_are_mounted_as_optional_files() -> None:
    pod = _pod()
    volume = next(v for v in pod["volumes"] if v["name"] == "redis-tls")
    assert volume["secret"] == {
        "secretName": "redis",
        "items": [{"key": k, "path": k} for k in ("ca.crt", "tls.crt", "tls.key")],
        "optional": True,  # a Secret with only `url` still mounts (nothing)
    }
    container = pod["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "redis-tls")
    assert mount == {"name": "redis-tls", "mountPath": REDIS_TLS_DIR, "readOnly": True}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["REDIS_TLS_DIR"] == REDIS_TLS_DIR
