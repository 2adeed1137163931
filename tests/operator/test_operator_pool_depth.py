"""Operator tier: busy-aware scale-down, external autoscaling, the pool's PDB, derived grace."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import kopf
import redis
from kopf.testing import KopfRunner
from prometheus_client import generate_latest

from queue_operator.constants import POD_DELETION_COST
from queue_operator.main import Operator
from tests.devcluster.conftest import KubectlFn
from tests.devcluster.kube import Kube
from tests.operator.conftest import FAST, ROOT, cr, log, run_operator, status, to_yaml, wait_for
from tests.operator.test_operator_workerpool import deployment, replicas
from worker_runtime.client import SyncClient
from worker_runtime.engine.keys import worker_key
from worker_runtime.models import JobSpec

BASE: dict[str, Any] = {
    "queues": [{"name": "long"}],
    "image": "ghcr.io/blackroad/worker:test",
    "handlers": "tests.worker.fault_handlers",
    "concurrency": 1,
}
#: A short lease: workers beat (and refresh their registry entry) every second.
QUEUE = {"leaseMs": 3000, "timeoutMs": 60_000}


def pods(kube: Kube, namespace: str, pool: str) -> list[dict[str, Any]]:
    got = kube.get(
        f"/api/v1/namespaces/{namespace}/pods",
        params={"labelSelector": f"queues.blackroad.io/workerpool={pool}"},
    )
    items: list[dict[str, Any]] = got.body["items"]
    return items


def in_flight(r: redis.Redis) -> dict[str, int]:
    """Worker name -> jobs in flight, from the engine's registry (what the operator reads)."""
    out = {}
    for name in map(str, r.zrange("brq:workers", 0, -1)):
        raw = r.get(worker_key(name))
        if raw:
            out[name] = int(json.loads(raw)["in_flight"])
    return out


def _reported(kube: Kube, namespace: str) -> tuple[int | None, int | None]:
    st = status(kube, namespace, "workerpools", "pool")
    return st.get("desiredReplicas"), st.get("backlog")


def executions(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_scale_down_keeps_the_busy_pod_and_its_job_runs_once(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    redis_url: str,
    r: redis.Redis,
    tmp_path: Path,
) -> None:
    runs = tmp_path / "executions.log"
    env = [{"name": "FAULT_LOG", "value": str(runs)}, {"name": "PYTHONPATH", "value": str(ROOT)}]
    pool = {**BASE, "env": env, "autoscaling": {"enabled": False}, "replicas": 3}
    with run_operator(namespace) as runner:
        kubectl(
            "apply",
            "-f",
            "-",
            input=to_yaml(cr("JobQueue", "long", QUEUE), cr("WorkerPool", "pool", pool)),
        )
        wait_for(
            lambda: (
                (deployment(kube, namespace, "pool").get("status") or {}).get("readyReplicas") == 3
            ),
            what="3 ready workers",
            timeout=60,
        )
        grace = deployment(kube, namespace, "pool")["spec"]["template"]["spec"]
        assert grace["terminationGracePeriodSeconds"] == 65  # timeoutMs 60 s + 5
        with SyncClient(redis_url) as client:
            job = client.enqueue("long", "work", {"s": 8})
        holder = wait_for(
            lambda: next((n for n, busy in in_flight(r).items() if busy == 1), None),
            what="a worker to report the job in flight",
        )
        names = sorted(p["metadata"]["name"] for p in pods(kube, namespace, "pool"))
        assert holder in names and len(names) == 3
        busy_pod = next(p for p in pods(kube, namespace, "pool") if p["metadata"]["name"] == holder)
        pid = busy_pod["metadata"]["annotations"]["devcluster.blackroad.io/pid"]
        # Without the operator's costs this pod would go first (the lowest cost of all).
        kube.patch(
            f"/api/v1/namespaces/{namespace}/pods/{holder}",
            {"metadata": {"annotations": {POD_DELETION_COST: "-1000"}}},
        )
        kubectl("scale", "wp", "pool", "--replicas=1")
        left = wait_for(
            lambda: (p := pods(kube, namespace, "pool")) and len(p) == 1 and p,
            what="one pod left",
            timeout=30,
        )
        survivor = left[0]["metadata"]
        assert survivor["name"] == holder
        assert survivor["annotations"][POD_DELETION_COST] == "1"
        assert survivor["annotations"]["devcluster.blackroad.io/pid"] == pid  # not restarted
        with SyncClient(redis_url) as client:
            done = client.wait(job.id, timeout=30)
            info = client.get_job(job.id)
        log(f"job {job.id}: {done}; executions: {executions(runs)}")
        assert info is not None and info.state == "completed" and info.attempts == 1
        assert executions(runs) == [f"start {job.id}", f"done {job.id}"]
    assert runner.exception is None, runner.output


def test_external_mode_pdb_and_backlog(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    redis_url: str,
) -> None:
    op = Operator(FAST)
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 10
    settings.posting.level = 50
    args = ["run", "--namespace", namespace, "--standalone"]
    external = {
        **BASE,
        "autoscaling": {"mode": "external", "pollSeconds": 1, "targetBacklogPerReplica": 1},
        "disruptionBudget": {"maxUnavailable": 1},
        "maxGraceSeconds": 40,
        "env": [
            {"name": "FAULT_LOG", "value": "/dev/null"},
            {"name": "PYTHONPATH", "value": str(ROOT)},
        ],
    }
    pdb_path = f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/pool"
    scale_path = f"/apis/apps/v1/namespaces/{namespace}/deployments/pool/scale"
    with KopfRunner(args, registry=op.registry, settings=settings, timeout=60) as runner:
        # A day-long job timeout: the grace stops at maxGraceSeconds. Paused: the backlog stays.
        queue = {**QUEUE, "timeoutMs": 86_400_000, "paused": True}
        docs = [cr("JobQueue", "long", queue), cr("WorkerPool", "pool", external)]
        kubectl("apply", "-f", "-", input=to_yaml(*docs))
        wait_for(lambda: deployment(kube, namespace, "pool"), what="the Deployment")
        pod_spec = deployment(kube, namespace, "pool")["spec"]["template"]["spec"]
        assert pod_spec["terminationGracePeriodSeconds"] == 40
        pdb = wait_for(lambda: (g := kube.get(pdb_path)).status == 200 and g.body, what="PDB")
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["metadata"]["ownerReferences"][0]["kind"] == "WorkerPool"
        # Enqueue only once Redis says paused: a running worker must not take any of them.
        wait_for(
            lambda: status(kube, namespace, "jobqueues", "long").get("paused") is True,
            what="the queue paused in Redis",
        )
        with SyncClient(redis_url) as client:
            client.enqueue_many(JobSpec("long", "work", {"s": 0}) for _ in range(25))
        # A stand-in HPA writes replicas; the backlog (25, target 1) would say 10. After each
        # write the operator passes (once a second) and reports what runs without changing it.
        for want in [2, 0, 3, 1, 2, 0, 1, 3, 2, 1, 0, 2]:
            assert kube.patch(scale_path, {"spec": {"replicas": want}}).status == 200
            wait_for(
                lambda want=want: _reported(kube, namespace) == (want, 25),  # type: ignore[misc]
                what=f"a pass reporting {want} replicas",
            )
            time.sleep(1.2)  # one more pass
            assert replicas(kube, namespace, "pool") == want
        st = wait_for(
            lambda: (
                (s := status(kube, namespace, "workerpools", "pool")).get("backlog") == 25 and s
            ),
            what="the backlog in status",
        )
        assert "external" in st["lastScaleReason"]
        metrics = generate_latest(op.metrics.registry).decode()
        assert (
            f'blackroad_workerpool_backlog{{namespace="{namespace}",workerpool="pool"}} 25.0'
            in (metrics)
        )
        events = kubectl("get", "events", "-o", "yaml").stdout
        assert "ScaledUp" not in events and "ScaledDown" not in events
        # The budget follows the spec, and goes with it.
        kubectl(
            "patch",
            "wp",
            "pool",
            "--type=merge",
            "-p",
            '{"spec":{"disruptionBudget":{"minAvailable":"50%","maxUnavailable":null}}}',
        )
        wait_for(
            lambda: kube.get(pdb_path).body.get("spec", {}).get("minAvailable") == "50%",
            what="the PDB updated",
        )
        assert "maxUnavailable" not in kube.get(pdb_path).body["spec"]
        kubectl("patch", "wp", "pool", "--type=merge", "-p", '{"spec":{"disruptionBudget":null}}')
        wait_for(lambda: kube.get(pdb_path).status == 404, what="the PDB deleted")
    assert runner.exception is None, runner.output
