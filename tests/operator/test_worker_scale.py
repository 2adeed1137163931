"""`blackroad worker scale QUEUE N` against the local Kubernetes API, as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from devcluster import Cluster
from queue_operator import kube
from tests.devcluster.conftest import KubectlFn
from tests.operator.conftest import cr, to_yaml
from tests.redis_server import free_port
from worker_runtime.cli import cli


@pytest.fixture(autouse=True)
def fresh_client() -> Iterator[None]:
    """The Kubernetes client is cached per process: each test reads KUBECONFIG anew."""
    kube.reset()
    yield
    kube.reset()


def scale(*args: str) -> Result:
    return CliRunner().invoke(cli, ["worker", "scale", *args])


def pool(name: str, *queues: str) -> dict[str, object]:
    spec = {"queues": [{"name": q} for q in queues], "image": "i", "handlers": "m"}
    return cr("WorkerPool", name, spec)


def replicas(kubectl: KubectlFn, name: str) -> str:
    return kubectl("get", "wp", name, "-o", "jsonpath={.spec.replicas}").stdout.strip()


def test_scale_sets_the_replicas_of_the_pool_serving_the_queue(
    operator_env: None, kubectl: KubectlFn, namespace: str
) -> None:
    docs = [
        cr("JobQueue", "emails", {"queueName": "mail"}),
        pool("mailers", "emails"),
        pool("reporters", "reports"),
    ]
    kubectl("apply", "-f", "-", input=to_yaml(*docs))
    result = scale("mail", "3", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "namespace": namespace,
        "pool": "mailers",
        "replicas": 3,
        "previous": None,
    }
    assert replicas(kubectl, "mailers") == "3"
    assert replicas(kubectl, "reporters") == ""

    kubectl("apply", "-f", "-", input=to_yaml(pool("mailers-eu", "emails")))
    several = scale("mail", "2")
    assert several.exit_code == 1 and "several WorkerPools" in several.stderr
    assert f"{namespace}/mailers" in several.stderr and "--pool" in several.stderr
    assert replicas(kubectl, "mailers") == "3"
    assert scale("mail", "2", "--pool", "mailers-eu").exit_code == 0
    assert replicas(kubectl, "mailers-eu") == "2"

    none = scale("nobody-serves-this", "2")
    assert none.exit_code == 1 and "no WorkerPool serves it" in none.stderr
    assert len(none.stderr.strip().splitlines()) == 1


def test_scale_without_a_reachable_cluster_is_one_line(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = Path(cluster.kubeconfig).read_text()
    port = str(free_port())
    dead = tmp_path / "kubeconfig"
    dead.write_text(text.replace(f":{cluster.port}", f":{port}"))
    assert port in dead.read_text()
    monkeypatch.setenv("KUBECONFIG", str(dead))
    result = scale("mail", "1")
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "no Kubernetes API reachable" in lines[0] and "KUBECONFIG" in lines[0]
    )
