"""A real Prometheus scrapes a real worker, ``blackroad exporter`` and the operator's metrics
after jobs ran (some retried, some failed, some dead); every dashboard panel's query and
every alert expression then runs through its HTTP API. A query error fails, and so does an
empty result where the run must have produced data.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import start_http_server

from queue_operator.metrics import OperatorMetrics
from tests.conftest import in_ci
from tests.metrics.prometheus import Prometheus, available
from tests.redis_server import free_port
from worker_runtime import JobSpec, SyncClient

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboards" / "blackroad-queues.json"
ALERTS = ROOT / "dashboards" / "alerts.yaml"
QUEUE = "images"


def panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for g in groups for rule in g["rules"]]


def concrete(expr: str) -> str:
    """A panel's query as Grafana sends it with every queue selected."""
    return expr.replace("$queue", ".*").replace("$__rate_interval", "1m")


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker_runtime", *args],
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def prometheus_installed() -> None:
    if not available():
        message = "prometheus/promtool missing: make install (make prometheus)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def _enqueue_the_run(client: SyncClient) -> int:
    specs = [JobSpec(QUEUE, "resize", {"i": i}) for i in range(20)]
    specs += [JobSpec(QUEUE, "resize", {"i": i}, priority="high") for i in range(5)]
    specs += [JobSpec(QUEUE, "flaky", {"i": i}) for i in range(3)]
    specs += [JobSpec(QUEUE, "broken", {"i": i}, max_attempts=1) for i in range(2)]
    specs += [JobSpec(QUEUE, "refused", {"i": i}) for i in range(2)]
    specs += [JobSpec(QUEUE, "resize", {"late": True}, delay=0.5)]
    client.enqueue_many(specs)
    return len(specs)


def test_every_panel_and_alert_expression_answers_on_a_real_prometheus(
    prometheus_installed: None,
    redis_url: str,
    tmp_path: Path,
    processes: Callable[..., subprocess.Popen[bytes]],
) -> None:
    env = {"REDIS_URL": redis_url}
    worker_port, exporter_port = free_port(), free_port()
    processes(
        "worker",
        *("worker", "start", "--queues", QUEUE, "--handlers", "tests.metrics.handlers"),
        *("--concurrency", "4", "--metrics-port", str(worker_port), "--name", "w1"),
        env=env,
    )
    exporter = ("exporter", "--port", str(exporter_port), "--addr", "127.0.0.1", "--queues", QUEUE)
    processes("exporter", *exporter, env=env)
    # The operator's own series (WorkerPool replicas, reconcile passes) from its metrics class;
    # the operator itself needs a Kubernetes API, which tests/operator covers.
    operator = OperatorMetrics()
    operator.set_pool("default", "images", {"desiredReplicas": 2, "readyReplicas": 1})
    operator.reconciled("JobQueue", "Ready")
    server, thread = start_http_server(0, addr="127.0.0.1", registry=operator.registry)
    prometheus = Prometheus(
        tmp_path,
        {
            "blackroad-worker": [f"127.0.0.1:{worker_port}"],
            "blackroad-exporter": [f"127.0.0.1:{exporter_port}"],
            "blackroad-operator": [f"127.0.0.1:{server.server_port}"],
        },
        [ALERTS],
    )
    try:
        prometheus.start()
        # Dead letters before the run are scraped as 0, so the run shows as growth.
        wait_for(
            "the first scrapes",
            lambda: (
                len(prometheus.query("up == 1")) == 3
                and bool(prometheus.query('blackroad_queue_depth{state="dead"}'))
                and bool(prometheus.query("blackroad_workers_active > 0"))
            ),
        )
        with SyncClient(redis_url) as client:
            total = _enqueue_the_run(client)

            def finished() -> bool:
                s = client.stats(QUEUE)
                return s.pending + s.delayed + s.running == 0 and s.completed + s.dead == total

            wait_for("the jobs to finish", finished)
            stats = client.stats(QUEUE)
        assert (stats.completed, stats.dead) == (total - 4, 4)

        def scraped() -> bool:
            dead = prometheus.query('sum(blackroad_queue_depth{state="dead"})')
            done = prometheus.query('sum(blackroad_jobs_completed_total{status=~"completed|dead"})')
            return bool(dead and done) and (dead[0]["value"][1], done[0]["value"][1]) == (
                "4",
                str(total),
            )

        wait_for("Prometheus to scrape the outcome", scraped)
        time.sleep(3)  # a few more scrapes, so rate() has samples after the run
        check_queries(prometheus, total)
    finally:
        prometheus.stop()
        server.shutdown()
        thread.join(timeout=5)


def check_queries(prometheus: Prometheus, total: int) -> None:
    for title, expr in panel_queries():
        assert prometheus.query(concrete(expr)), f"panel {title!r}: no data for {expr}"
    rules = alert_rules()
    for rule in rules:
        prometheus.query(rule["expr"])  # an error fails
    firing = prometheus.query(
        next(r["expr"] for r in rules if r["alert"] == "BlackroadDeadLettersGrowing")
    )
    assert [s["metric"]["queue"] for s in firing] == [QUEUE]
    # Every series a panel or an alert names exists: a misspelt name would query as empty.
    exprs = [e for _, e in panel_queries()] + [r["expr"] for r in rules]
    for name in sorted({n for e in exprs for n in re.findall(r"\bblackroad_\w+", e)}):
        assert prometheus.query(f"count({name})"), f"no series named {name}"
    loaded = prometheus.api("rules")["groups"]
    health = {r["name"]: (r["health"], r.get("lastError", "")) for g in loaded for r in g["rules"]}
    assert health == {r["alert"]: ("ok", "") for r in rules}
    # Queue-level series come from the exporter alone, so sum() counts each job once.
    assert prometheus.query('count(blackroad_queue_depth{job!="blackroad-exporter"})') == []
    enqueued = prometheus.query("sum(blackroad_jobs_enqueued_total)")
    assert enqueued[0]["value"][1] == str(total)
    # The design's bucket bounds (prometheus-client writes them as Go floats: "600.0").
    for metric, bounds in (
        ("blackroad_job_duration_seconds_bucket", ["600.0"]),
        ("blackroad_queue_latency_seconds_bucket", ["10.0", "60.0", "300.0"]),
    ):
        for le in bounds:
            assert prometheus.query(f'{metric}{{le="{le}"}}'), f"{metric} le={le}"
    print_samples(prometheus)


def print_samples(prometheus: Prometheus) -> None:
    """Sample values of the design's metrics (``pytest -s`` shows them)."""
    for expr in (
        "sum by (job_name, priority) (blackroad_jobs_enqueued_total)",
        "sum by (job_name, status) (blackroad_jobs_completed_total)",
        "sum by (job_name, error_type) (blackroad_jobs_failed_total)",
        "histogram_quantile(0.99, sum by (le) (blackroad_job_duration_seconds_bucket))",
        "sum by (state) (blackroad_queue_depth)",
        "histogram_quantile(0.99, sum by (le, priority) (blackroad_queue_latency_seconds_bucket))",
        "blackroad_workers_active",
        "blackroad_worker_jobs_processing",
        "blackroad_queue_oldest_pending_age_seconds",
    ):
        found = prometheus.query(expr)
        print(expr, "=>", [(s.get("metric", {}), s["value"][1]) for s in found])
