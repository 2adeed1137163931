"""The WorkerPools view against a devcluster: desired, ready, backlog and the scaling reason."""

from __future__ import annotations

import asyncio
import json
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


def test_an_unreachable_api_gets_a_generic_line_and_the_detail_goes_to_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The API's address and the error's words are for the operator, not for any viewer.
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    operator_kube.reset()
    try:
        found = asyncio.run(pools.worker_pools())
    finally:
        operator_kube.reset()
    assert found.rows == []
    assert found.note == "cannot list WorkerPools now (the dashboard's log says why)"
    (record,) = [r for r in caplog.records if r.name == "dashboard.pools"]
    assert record.exc_info is not None and "127.0.0.1" in caplog.text
