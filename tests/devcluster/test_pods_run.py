"""Pods run by the kubelet: `kubectl run` (pods created directly) and `kubectl logs`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devcluster import Cluster
from tests.devcluster.conftest import KubectlFn, make_kubectl, to_yaml, wait_for

#: Prints three lines, then exits 1 so that the kubelet restarts it (a previous run).
TALKER = "import time, sys\nfor i in range(3):\n    print('line', i, flush=True)\n"
TALKER += "time.sleep(0.5)\nsys.exit(1)\n"


@pytest.fixture
def kubectl(tmp_path: Path) -> Iterator[KubectlFn]:  # its own cluster: it needs a kubelet
    with Cluster(state_dir=tmp_path / "state", restart_backoff=(0.5, 1.0)) as cluster:
        yield make_kubectl(cluster.kubeconfig, tmp_path / "cache", "default")


def _talker() -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "talker"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "talker"}},
            "template": {
                "metadata": {"labels": {"app": "talker"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "main", "command": [sys.executable, "-c", TALKER]}],
                },
            },
        },
    }


def test_logs_by_name_label_tail_previous_and_follow(kubectl: KubectlFn) -> None:
    kubectl("apply", "-f", "-", input=to_yaml(_talker()))
    pod = wait_for(
        lambda: kubectl("get", "pods", "-o", "name").stdout.strip(), what="the talker's pod"
    )
    wait_for(
        lambda: "line 2" in kubectl("logs", pod, check=False).stdout, what="three lines logged"
    )
    assert kubectl("logs", pod).stdout == "line 0\nline 1\nline 2\n"
    assert kubectl("logs", "-l", "app=talker").stdout == "line 0\nline 1\nline 2\n"
    assert kubectl("logs", pod, "--tail=1").stdout == "line 2\n"
    assert kubectl("logs", pod, "-c", "main", "--tail=0").stdout == ""
    wrong = kubectl("logs", pod, "-c", "other", check=False)
    assert wrong.returncode != 0 and "container other is not valid" in wrong.stderr
    wait_for(
        lambda: kubectl("logs", pod, "--previous", check=False).returncode == 0,
        what="a restart (a previous run)",
    )
    assert kubectl("logs", pod, "--previous").stdout == "line 0\nline 1\nline 2\n"
    # -f ends when the process exits, as kubectl logs -f does on a real cluster.
    followed = kubectl("logs", "-f", pod, timeout=20).stdout
    assert followed.endswith("line 2\n")


def test_logs_of_a_missing_pod_is_404(kubectl: KubectlFn) -> None:
    missing = kubectl("logs", "nope", check=False)
    assert missing.returncode != 0 and 'pods "nope" not found' in missing.stderr


def test_kubectl_run_pods_are_run_by_the_kubelet(kubectl: KubectlFn, tmp_path: Path) -> None:
    once = "print('hello from a pod', flush=True)"
    kubectl(
        "run", "once", "--image=python:3.11", "--restart=Never", "--", sys.executable, "-c", once
    )
    kubectl("run", "fails", "--image=python", "--restart=Never", "--", sys.executable, "-c", "1/0")
    marker = tmp_path / "alive"
    loop = f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    kubectl("run", "server", "--image=python", "--", sys.executable, "-c", loop)
    phase = "jsonpath={.status.phase}"
    wait_for(lambda: kubectl("get", "pod", "once", "-o", phase).stdout == "Succeeded", what="once")
    wait_for(lambda: kubectl("get", "pod", "fails", "-o", phase).stdout == "Failed", what="fails")
    assert kubectl("logs", "once").stdout == "hello from a pod\n"
    table = kubectl("get", "pods").stdout
    assert " Completed " in table and " Error " in table
    wait_for(lambda: kubectl("get", "pod", "server", "-o", phase).stdout == "Running", what="run")
    wait_for(marker.exists, what="the server's process")
    pid = kubectl(
        "get",
        "pod",
        "server",
        "-o",
        "jsonpath={.metadata.annotations.devcluster\\.blackroad\\.io/pid}",
    )
    kubectl("delete", "pod", "server")
    wait_for(lambda: not _alive(int(pid.stdout)), what="the deleted pod's process to stop")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_discovery_lists_create_for_pods(kubectl: KubectlFn) -> None:
    resources = json.loads(kubectl("get", "--raw", "/api/v1").stdout)["resources"]
    pods = next(r for r in resources if r["name"] == "pods")
    assert "create" in pods["verbs"]
