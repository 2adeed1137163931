"""The alert rules pass promtool's checks and unit tests, the Prometheus Operator objects
match them, and the Grafana dashboard has the panels and the variable the design names."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
MONITORING = ROOT / "manifests" / "monitoring"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        message = "promtool missing: make install (make prometheus)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        ["promtool", *args], cwd=DASHBOARDS, capture_output=True, text=True, timeout=120
    )


def test_promtool_check_rules() -> None:
    done = promtool("check", "rules", "alerts.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_promtool_unit_tests_of_the_alerts() -> None:
    done = promtool("test", "rules", "alerts.test.yaml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_prometheusrule_carries_the_same_alerts() -> None:
    rules = yaml.safe_load((DASHBOARDS / "alerts.yaml").read_text())["groups"]
    obj = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert (obj["apiVersion"], obj["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert obj["spec"]["groups"] == rules


def test_every_alert_the_issue_asks_for_is_there_and_has_a_unit_test() -> None:
    rules = yaml.safe_load((DASHBOARDS / "alerts.yaml").read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert names == {
        "BlackroadDeadLettersGrowing",
        "BlackroadOldestPendingJobTooOld",
        "BlackroadBacklogWithoutWorkers",
        "BlackroadRedisUnreachable",
        "BlackroadOperatorNotReconciling",
    }
    tests = yaml.safe_load((DASHBOARDS / "alerts.test.yaml").read_text())["tests"]
    fired = {
        case["alertname"] for t in tests for case in t["alert_rule_test"] if case.get("exp_alerts")
    }
    assert fired == names


def test_podmonitors_select_the_worker_and_operator_pods() -> None:
    from queue_operator.builders.deployment import pool_labels

    docs = list(yaml.safe_load_all((MONITORING / "podmonitors.yaml").read_text()))
    selectors = {d["metadata"]["name"]: d["spec"]["selector"]["matchLabels"] for d in docs}
    assert selectors["blackroad-workers"].items() <= pool_labels("any").items()
    operator = yaml.safe_load_all((ROOT / "manifests" / "operator.yaml").read_text())
    deployment = next(d for d in operator if d and d["kind"] == "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selectors["blackroad-operator"].items() <= pod_labels.items()
    ports = {
        p["name"] for c in deployment["spec"]["template"]["spec"]["containers"] for p in c["ports"]
    }
    assert all(e["port"] in ports for d in docs for e in d["spec"]["podMetricsEndpoints"])
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == ["podmonitors.yaml", "prometheusrule.yaml"]


def test_the_dashboard_has_the_design_panels_and_a_queue_variable() -> None:
    dashboard = json.loads((DASHBOARDS / "blackroad-queues.json").read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    for wanted in (
        "Queue depth by state",
        "Processing rate",
        "p99 job duration",
        "Failed jobs",
        "Dead letters",
        "Oldest pending job",
        "Failures by error type",
        "Worker saturation",
        "WorkerPool replicas: desired vs ready",
    ):
        assert wanted in titles
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["queue"]["definition"] == "label_values(blackroad_queue_depth, queue)"
    assert len({p["id"] for p in dashboard["panels"]}) == len(titles)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queue_level = "blackroad_queue_" in target["expr"] or "enqueued" in target["expr"]
            assert not queue_level or "$queue" in target["expr"], panel["title"]
