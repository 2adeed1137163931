"""Operator tier: `python -m queue_operator`'s /metrics carries the queue-level series of its
JobQueues (it is their one exporter in Kubernetes) and each WorkerPool's replicas."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from devcluster import Cluster
from tests.devcluster.conftest import KubectlFn
from tests.operator.conftest import cr, to_yaml, wait_for
from tests.redis_server import free_port
from worker_runtime import JobSpec
from worker_runtime.client import SyncClient

POOL = {
    "image": "w",
    "handlers": "worker_runtime.examples",
    "terminationGracePeriodSeconds": 2,
    "autoscaling": {"enabled": False},
    "queues": [{"name": "media"}],
    "replicas": 1,
}


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_operator_exports_its_queues_and_pools(
    cluster: Cluster,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    args = [sys.executable, "-m", "queue_operator", "--namespace", namespace, "--standalone"]
    args += ["--tick=0.2", "--status-interval=0.5", f"--metrics-port={port}", "--liveness="]
    with (tmp_path / "operator.log").open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        kubectl("apply", "-f", "-", input=to_yaml(cr("JobQueue", "media", {})))
        with SyncClient(redis_url) as client:
            client.enqueue_many([JobSpec("media", "noop", {})] * 3)
            client.enqueue("media", "noop", {}, delay=600, priority="low")
        kubectl("apply", "-f", "-", input=to_yaml(cr("WorkerPool", "media", POOL)))
        queue = frozenset({("queue", "media")})
        pool = frozenset({("namespace", namespace), ("workerpool", "media")})

        def exported() -> bool:
            found = scrape(port)
            return (
                found.get(("blackroad_queue_depth", queue | {("state", "delayed")})) == 1
                and found.get(("blackroad_queue_depth", queue | {("state", "completed")})) == 3
                and found.get(("blackroad_workers_active", queue)) == 1
                and found.get(("blackroad_workerpool_desired_replicas", pool)) == 1
                and found.get(("blackroad_workerpool_ready_replicas", pool)) == 1
            )

        wait_for(exported, what="the queue and pool series", timeout=60)
        found = scrape(port)
        counts = {("noop", "5"): 3.0, ("noop", "8"): 1.0}
        for (job, priority), count in counts.items():
            labels = queue | {("job_name", job), ("priority", priority)}
            assert found[("blackroad_jobs_enqueued_total", labels)] == count
        assert found[("blackroad_redis_up", frozenset())] == 1
        age = found[("blackroad_queue_oldest_pending_age_seconds", queue)]
        assert age == 0  # nothing pending: the delayed job is not due
        last = ("blackroad_operator_last_reconcile_timestamp_seconds", {("kind", "JobQueue")})
        assert found[(last[0], frozenset(last[1]))] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
