"""The WorkerPools view against a devcluster: desired, ready, backlog and the scaling reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard import pools
from devcluster import Cluster
from queue_operator import kube as operator_kube
from tests.devcluster.conftest import make_kubectl
from tests.devcluster.kube import Kube

ROOT = Path(__file__).resolve().parents[2]
POOLS = "/apis/queues.blackroad.io/v1alpha1/namespaces/default/workerpools"


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    c = Cluster(state_dir=tmp_path / "cluster", kubelet=False)
    c.start()
    try:
        make_kubectl(c.kubeconfig, tmp_path / "kc", "default")("apply", "-k", str(ROOT / "crds"))
        monkeypatch.setenv("KUBECONFIG", str(c.kubeconfig))
        operator_kube.reset()
        yield c
    finally:
        operator_kube.reset()
        c.stop()


def test_pools_show_their_scaling_status(cluster: Cluster) -> None:
    kube = Kube(cluster.kubeconfig)
    pool = {
        "apiVersion": "queues.blackroad.io/v1alpha1",
        "kind": "WorkerPool",
        "metadata": {"name": "agents"},
        "spec": {
            "queues": [{"name": "emails"}, {"name": "reports"}],
            "image": "w:1",
            "handlers": "app.handlers",
        },
    }
    assert kube.post(POOLS, pool).status == 201, "WorkerPool refused"
    reason = "backlog 57 / target 20 per replica -> 3"
    status = {"desiredReplicas": 3, "readyReplicas": 2, "backlog": 57, "lastScaleReason": reason}
    assert kube.patch(f"{POOLS}/agents/status", {"status": status}).status == 200
    found = asyncio.run(pools.worker_pools())
    assert found.note == ""
    (row,) = found.rows
    assert (row.namespace, row.name, row.queues) == ("default", "agents", ["emails", "reports"])
    assert (row.desired, row.ready, row.backlog) == (3, 2, 57)
    assert row.last_scale_reason == "backlog 57 / target 20 per replica -> 3"


def test_without_a_cluster_a_line_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    found = asyncio.run(pools.worker_pools())
    assert found.rows == [] and "no kubeconfig" in found.note
