"""Fixtures for the operator tier: devcluster (with its process kubelet), kubectl, the operator."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from kopf.testing import KopfRunner

from devcluster import Cluster
from queue_operator.main import Operator, OperatorConfig
from tests.devcluster.conftest import KubectlFn, make_kubectl
from tests.devcluster.kube import Kube

ROOT = Path(__file__).resolve().parents[2]
GROUP_PATH = "/apis/queues.blackroad.io/v1alpha1"


def log(message: str) -> None:
    # KopfRunner swaps sys.stdout while it runs; the original stderr is always safe.
    print(f"[operator-test] {message}", file=sys.__stderr__)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One devcluster with its kubelet; worker pods find `blackroad` on the PATH."""
    venv_bin = str(Path(sys.executable).parent)
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{venv_bin}{os.pathsep}{old_path}"
    c = Cluster(
        state_dir=tmp_path_factory.mktemp("opcluster"),
        kubelet=True,
        bookmark_interval=0.5,
        restart_backoff=(0.5, 2),
    )
    c.start()
    try:
        kubectl = make_kubectl(c.kubeconfig, tmp_path_factory.mktemp("kc"), "default")
        kubectl("apply", "-k", str(ROOT / "crds"))
        yield c
    finally:
        c.stop()
        os.environ["PATH"] = old_path


@pytest.fixture
def kube(cluster: Cluster) -> Kube:
    return Kube(cluster.kubeconfig)


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    name = f"op-{uuid.uuid4().hex[:8]}"
    assert kube.post("/api/v1/namespaces", {"metadata": {"name": name}}).status == 201
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def kubectl(cluster: Cluster, namespace: str, tmp_path: Path) -> KubectlFn:
    return make_kubectl(cluster.kubeconfig, tmp_path / "kubectl-cache", namespace)


@pytest.fixture
def redis_secret(kube: Kube, namespace: str, redis_url: str) -> str:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "blackroad-redis"},
        "data": {"url": base64.b64encode(redis_url.encode()).decode()},
    }
    assert kube.post(f"/api/v1/namespaces/{namespace}/secrets", body).status == 201
    return "blackroad-redis"


@pytest.fixture
def operator_env(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))


FAST = OperatorConfig(tick=0.2, status_interval=0.5)


def run_operator(namespace: str, *extra: str, config: OperatorConfig = FAST) -> KopfRunner:
    """The real kopf operator in a thread, watching one namespace."""
    import kopf

    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 10
    settings.posting.level = 50
    args = ["run", "--namespace", namespace, *(extra or ("--standalone",))]
    return KopfRunner(args, registry=Operator(config).registry, settings=settings, timeout=60)


def wait_for(condition: Callable[[], Any], *, timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def cr(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "queues.blackroad.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def to_yaml(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(docs)


def status(kube: Kube, namespace: str, plural: str, name: str) -> dict[str, Any]:
    got = kube.get(f"{GROUP_PATH}/namespaces/{namespace}/{plural}/{name}")
    return (got.body.get("status") or {}) if got.status == 200 else {}


def condition(st: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in st.get("conditions") or [] if c["type"] == type_), {})


def kubectl_path() -> str:
    return shutil.which("kubectl") or "/usr/bin/kubectl"


def fired(r: redis.Redis, queue: str, name: str) -> list[int]:
    """The tick times (ms) of the runs the engine schedule ``name`` enqueued, in order."""
    prefix = f"sched:{name}:"
    ids = [str(j) for j in r.zrange(f"brq:{{{queue}}}:pending", 0, -1)]
    return sorted(int(j.removeprefix(prefix)) for j in ids if j.startswith(prefix))
