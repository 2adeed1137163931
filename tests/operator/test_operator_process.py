"""Operator tier: `python -m queue_operator` processes: SIGKILL and restart, two peered replicas.

Two replicas must neither fight over Deployments nor both run schedulers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from devcluster import Cluster
from tests.devcluster.conftest import KubectlFn
from tests.devcluster.kube import Kube
from tests.operator.conftest import (
    GROUP_PATH,
    condition,
    cr,
    fired,
    log,
    status,
    to_yaml,
    wait_for,
)
from worker_runtime.client import SyncClient

POOL = {
    "image": "w",
    "handlers": "worker_runtime.examples",
    "terminationGracePeriodSeconds": 2,
    "autoscaling": {"enabled": False},
}


class Processes:
    """Operator processes started by a test; all are killed at the end."""

    def __init__(self, cluster: Cluster, tmp: Path) -> None:
        self.cluster, self.tmp, self.procs = cluster, tmp, []  # type: ignore[var-annotated]

    def start(self, name: str, namespace: str, *extra: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "KUBECONFIG": str(self.cluster.kubeconfig)}
        args = [sys.executable, "-m", "queue_operator", "--namespace", namespace, "-v"]
        args += ["--tick=0.2", "--status-interval=0.5", "--metrics-port=0", "--liveness=", *extra]
        out = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(cluster: Cluster, tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(cluster, tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


def deployments(kube: Kube, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.get(
        f"/apis/apps/v1/namespaces/{namespace}/deployments"
    ).body["items"]
    return items


def pool_done(kube: Kube, namespace: str, name: str, replicas: int) -> bool:
    got = kube.get(f"{GROUP_PATH}/namespaces/{namespace}/workerpools/{name}").body
    st = got.get("status") or {}
    return (
        st.get("observedGeneration") == got["metadata"]["generation"]
        and st.get("desiredReplicas") == replicas
        and condition(st, "Ready").get("status") == "True"
    )


def test_sigkill_mid_reconcile_then_restart_converges(
    processes: Processes, kube: Kube, kubectl: KubectlFn, namespace: str, redis_secret: str
) -> None:
    docs = [cr("JobQueue", "a", {}), cr("JobQueue", "b", {})]
    both = [{"name": "a"}, {"name": "b"}]
    docs += [
        cr("WorkerPool", f"pool-{i}", {**POOL, "queues": both, "replicas": i % 2}) for i in range(4)
    ]
    first = processes.start("first", namespace, "--standalone")
    kubectl("apply", "-f", "-", input=to_yaml(*docs))
    wait_for(lambda: deployments(kube, namespace), what="a first Deployment", timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done = [pool_done(kube, namespace, f"pool-{i}", i % 2) for i in range(4)]
    log(f"killed with {len(deployments(kube, namespace))} Deployments; pools done: {done}")
    processes.start("second", namespace, "--standalone")
    for i in range(4):
        wait_for(
            lambda i=i: pool_done(kube, namespace, f"pool-{i}", i % 2),  # type: ignore[misc]
            what=f"pool-{i} converged",
            timeout=30,
        )
    names = sorted(d["metadata"]["name"] for d in deployments(kube, namespace))
    assert names == [f"pool-{i}" for i in range(4)]
    for d in deployments(kube, namespace):
        assert len(d["metadata"]["ownerReferences"]) == 1
        assert d["spec"]["replicas"] == int(d["metadata"]["name"][-1]) % 2


def test_two_peered_replicas_do_not_fight(
    processes: Processes, kube: Kube, kubectl: KubectlFn, namespace: str, redis_secret: str
) -> None:
    peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "ops"}}
    assert (
        kube.post(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings", peering).status == 201
    )
    extra = ("--peering=ops", "--peering-lifetime=3")
    leader = processes.start("leader", namespace, *extra)
    kubectl("apply", "-f", "-", input=to_yaml(cr("JobQueue", "a", {})))
    wait_for(
        lambda: condition(status(kube, namespace, "jobqueues", "a"), "Ready"),
        what="the first replica to act",
        timeout=30,
    )
    processes.start("follower", namespace, *extra)
    # kopf starts paused; the newer (lower-priority) replica stays so while the leader lives.
    wait_for(
        lambda: "Keep-alive in 'ops'" in processes.log("follower"),
        what="the newer replica to join the peering",
        timeout=30,
    )
    pool = {**POOL, "queues": [{"name": "a"}], "replicas": 0}
    kubectl("apply", "-f", "-", input=to_yaml(cr("WorkerPool", "p", pool)))
    wait_for(lambda: pool_done(kube, namespace, "p", 0), what="pool reconciled", timeout=30)
    # Two writers of the spec would bump its generation; the kubelet's status writes
    # (resourceVersion only) are expected and not a fight.
    generations = set()
    for _ in range(10):
        generations.add(deployments(kube, namespace)[0]["metadata"]["generation"])
        time.sleep(0.2)
    assert len(generations) == 1, "the Deployment's spec keeps changing: two operators fight"
    assert len(deployments(kube, namespace)) == 1
    assert "Resuming operations" in processes.log("leader")
    assert "Resuming operations" not in processes.log("follower")
    assert "Timer 'workerpool'" not in processes.log("follower")
    # The leader dies; after its peering lifetime the follower takes over.
    leader.send_signal(signal.SIGKILL)
    leader.wait()
    kubectl("scale", "wp", "p", "--replicas=1")
    wait_for(
        lambda: pool_done(kube, namespace, "p", 1), what="the follower to take over", timeout=40
    )
    assert "Resuming operations" in processes.log("follower")


def test_two_peered_replicas_fire_each_schedule_tick_once(
    processes: Processes,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    redis_url: str,
    r: redis.Redis,
) -> None:
    peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "ops"}}
    assert (
        kube.post(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings", peering).status == 201
    )
    extra = ("--peering=ops", "--peering-lifetime=3")
    name = f"{namespace}/tick"
    leader = processes.start("leader", namespace, *extra)
    docs = [
        cr("JobQueue", "a", {}),
        cr("Schedule", "tick", {"cron": "* * * * * *", "queue": "a", "jobName": "noop"}),
    ]
    kubectl("apply", "-f", "-", input=to_yaml(*docs))
    wait_for(lambda: fired(r, "a", name), what="the leader to fire", timeout=30)
    processes.start("follower", namespace, *extra)
    wait_for(
        lambda: "Keep-alive in 'ops'" in processes.log("follower"),
        what="the newer replica to join the peering",
        timeout=30,
    )
    start = len(fired(r, "a", name))
    wait_for(lambda: len(fired(r, "a", name)) >= start + 3, what="three more ticks")
    ticks = fired(r, "a", name)
    log(f"ticks {ticks}")
    assert "Scheduler started" in processes.log("leader")
    assert "Scheduler started" not in processes.log("follower")
    # The leader dies; the follower takes over and the tick sequence goes on, once per tick.
    leader.send_signal(signal.SIGKILL)
    leader.wait()
    killed_at = ticks[-1]
    wait_for(
        lambda: fired(r, "a", name)[-1] > killed_at + 1000, what="the follower to fire", timeout=40
    )
    assert "Scheduler started" in processes.log("follower")
    with SyncClient(redis_url) as client:
        state = client.get_schedule(name)
    assert state is not None
    after = fired(r, "a", name)
    log(f"ticks after takeover {after}, state {state.state}")
    # Every second from the first run to the last either ran once or was counted missed
    # (the gap while nobody led): a tick fired by both replicas would count twice.
    assert len(after) == state.state.fired
    assert state.state.fired + state.state.missed == (after[-1] - after[0]) // 1000 + 1
