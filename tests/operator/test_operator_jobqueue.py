"""Operator tier: JobQueues against the real kopf operator, kubectl, devcluster and Redis."""

from __future__ import annotations

import redis

from tests.devcluster.conftest import KubectlFn
from tests.devcluster.kube import Kube
from tests.operator.conftest import condition, cr, log, run_operator, status, to_yaml, wait_for
from worker_runtime.client import SyncClient


def test_jobqueue_config_status_columns_and_generation(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    redis_url: str,
    r: redis.Redis,
) -> None:
    with run_operator(namespace) as runner:
        kubectl("apply", "-f", "-", input=to_yaml(cr("JobQueue", "lucidia", {"maxAttempts": 5})))
        st = wait_for(
            lambda: (
                (s := status(kube, namespace, "jobqueues", "lucidia")).get("observedGeneration")
                and s
            ),
            what="JobQueue status",
        )
        log(f"status {st}")
        assert st["queueName"] == "lucidia"
        assert condition(st, "Ready")["status"] == "True"
        # The session Redis runs without AOF: the operator says so instead of ignoring it.
        assert condition(st, "Degraded")["reason"] == "UnsafePersistence"
        assert r.hget("brq:{lucidia}:config", "max_attempts") == "5"

        with SyncClient(redis_url) as client:
            for i in range(3):
                client.enqueue("lucidia", "noop", {"i": i})
        wait_for(
            lambda: status(kube, namespace, "jobqueues", "lucidia").get("pending") == 3,
            what="pending count in status",
        )
        table = kubectl("get", "jobqueues").stdout
        log(table)
        header, row = table.splitlines()[:2]
        for column in ("PENDING", "RUNNING", "DELAYED", "DEAD", "OLDEST", "PAUSED", "READY"):
            assert column in header
        assert row.split()[:3] == ["lucidia", "lucidia", "3"]

        kubectl("patch", "jq", "lucidia", "--type=merge", "-p", '{"spec":{"maxAttempts":9}}')
        wait_for(
            lambda: status(kube, namespace, "jobqueues", "lucidia").get("observedGeneration") == 2,
            what="observedGeneration 2",
        )
        assert r.hget("brq:{lucidia}:config", "max_attempts") == "9"
        # Drift in Redis (someone ran `blackroad queue pause`) is corrected.
        r.hset("brq:{lucidia}:config", "paused", "1")
        wait_for(lambda: r.hget("brq:{lucidia}:config", "paused") == "0", what="drift fixed")
        events = kubectl("get", "events", "-o", "yaml").stdout
        assert "ConfigApplied" in events
    assert runner.exception is None, runner.output
