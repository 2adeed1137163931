"""The process kubelet: Deployments become local processes, scaled, restarted and stopped."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devcluster import Cluster
from tests.devcluster.conftest import wait_for
from tests.devcluster.kube import Kube

NS = "default"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
PODS = f"/api/v1/namespaces/{NS}/pods"

#: A tiny HTTP server that is ready on /ready and records its environment.
SERVER = textwrap.dedent("""
    import http.server, json, os, sys
    port = int(os.environ["PORT"])
    with open(os.environ["OUT"] + "/" + os.environ["HOSTNAME"] + ".json", "w") as f:
        json.dump(dict(os.environ), f)
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/ready" else 404)
            self.end_headers()
        def log_message(self, *a):
            pass
    print("serving", port, flush=True)
    http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
""")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with Cluster(state_dir=tmp_path / "state", restart_backoff=(0.2, 1.0)) as running:
        yield running


@pytest.fixture
def kube(cluster: Cluster) -> Kube:  # overrides the shared fixture: these need a kubelet
    return Kube(cluster.kubeconfig)


def _deployment(
    name: str,
    code: str,
    *,
    replicas: int = 1,
    grace: int = 30,
    env: list[dict[str, Any]] | None = None,
    **container: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": grace,
                    "containers": [
                        {
                            "name": "main",
                            "image": "ignored",
                            "command": [sys.executable, "-c", code],
                            "env": env or [],
                            **container,
                        }
                    ],
                },
            },
        },
    }


def _status(kube: Kube, name: str) -> dict[str, Any]:
    status: dict[str, Any] = kube.get(f"{DEPLOYMENTS}/{name}").body.get("status") or {}
    return status


def _pods(kube: Kube, app: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kube.get(PODS, params={"labelSelector": f"app={app}"}).body[
        "items"
    ]
    return items


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_replicas_ready_by_http_probe_with_port_mapping(kube: Kube, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    body = _deployment(
        "web",
        SERVER,
        replicas=2,
        env=[{"name": "PORT", "value": "18931"}, {"name": "OUT", "value": str(out)}],
        ports=[{"name": "http", "containerPort": 18931}],
        readinessProbe={"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 1},
    )
    assert kube.post(DEPLOYMENTS, body).status == 201
    status = wait_for(
        lambda: _status(kube, "web").get("readyReplicas") == 2 and _status(kube, "web"),
        timeout=20,
        what="2 ready replicas",
    )
    assert status["replicas"] == 2 and status["updatedReplicas"] == 2
    assert status["availableReplicas"] == 2 and status["observedGeneration"] == 1
    pods = _pods(kube, "web")
    assert len(pods) == 2
    ports = sorted(
        json.loads(p["metadata"]["annotations"]["devcluster.blackroad.io/ports"])["18931"]
        for p in pods
    )
    assert len(set(ports)) == 2, "replicas must not share a port"
    envs = [json.loads(f.read_text()) for f in out.glob("*.json")]
    assert sorted(int(e["PORT"]) for e in envs) == ports
    assert sorted(int(e["BLACKROAD_PORT_HTTP"]) for e in envs) == ports
    assert all(p["status"]["containerStatuses"][0]["ready"] for p in pods)
    log = Path(pods[0]["metadata"]["annotations"]["devcluster.blackroad.io/log"])
    wait_for(lambda: "serving" in log.read_text(), what="process output in its log file")


def test_not_ready_until_probe_passes(kube: Kube) -> None:
    code = "import time; time.sleep(60)"
    body = _deployment(
        "slow",
        code,
        ports=[{"containerPort": 18932}],
        readinessProbe={"httpGet": {"path": "/", "port": 18932}},
    )
    kube.post(DEPLOYMENTS, body)
    wait_for(
        lambda: _pods(kube, "slow") and _pods(kube, "slow")[0]["status"]["phase"] == "Running",
        what="process running",
    )
    time.sleep(0.5)
    assert _status(kube, "slow").get("readyReplicas", 0) == 0


def test_scale_up_and_down(kube: Kube) -> None:
    kube.post(DEPLOYMENTS, _deployment("sc", "import time; time.sleep(60)", replicas=1))
    wait_for(lambda: _status(kube, "sc").get("readyReplicas") == 1, what="1 ready")
    kube.patch(f"{DEPLOYMENTS}/sc/scale", {"spec": {"replicas": 3}})
    wait_for(lambda: _status(kube, "sc").get("readyReplicas") == 3, what="3 ready")
    pids = [
        int(p["metadata"]["annotations"]["devcluster.blackroad.io/pid"]) for p in _pods(kube, "sc")
    ]
    kube.patch(f"{DEPLOYMENTS}/sc/scale", {"spec": {"replicas": 1}})
    wait_for(
        lambda: _status(kube, "sc").get("replicas") == 1 and len(_pods(kube, "sc")) == 1,
        what="scaled down to 1",
    )
    wait_for(lambda: sum(_pid_alive(pid) for pid in pids) == 1, what="2 processes to stop")


def test_crashed_process_restarts_with_backoff(kube: Kube, tmp_path: Path) -> None:
    counter = tmp_path / "starts"
    code = f"open({str(counter)!r}, 'a').write('x'); raise SystemExit(3)"
    kube.post(DEPLOYMENTS, _deployment("crash", code))

    def restarted() -> Any:
        pods = _pods(kube, "crash")
        return pods and pods[0]["status"]["containerStatuses"][0]["restartCount"] >= 2 and pods

    pod = wait_for(restarted, timeout=15, what="two restarts")[0]
    status = pod["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert len(counter.read_text()) >= 2
    assert _status(kube, "crash").get("readyReplicas", 0) == 0


def test_sigterm_then_sigkill_after_grace(kube: Kube, tmp_path: Path) -> None:
    marker = tmp_path / "got-sigterm"
    code = textwrap.dedent(f"""
        import signal, time
        def on_term(*_):
            open({str(marker)!r}, "w").write("term")
        signal.signal(signal.SIGTERM, on_term)
        while True:
            time.sleep(0.05)
    """)
    kube.post(DEPLOYMENTS, _deployment("stubborn", code, grace=1))
    pod = wait_for(
        lambda: _status(kube, "stubborn").get("readyReplicas") == 1 and _pods(kube, "stubborn")[0],
        what="ready",
    )
    pid = int(pod["metadata"]["annotations"]["devcluster.blackroad.io/pid"])
    began = time.monotonic()
    kube.delete(f"{DEPLOYMENTS}/stubborn")
    wait_for(lambda: marker.exists(), what="SIGTERM to arrive")
    wait_for(lambda: not _pid_alive(pid), timeout=10, what="SIGKILL after the grace period")
    assert time.monotonic() - began >= 0.9
    assert _pods(kube, "stubborn") == []


def test_env_from_secret_and_configmap(kube: Kube, tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    kube.post(
        f"/api/v1/namespaces/{NS}/secrets",
        {"metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}},
    )
    kube.post(
        f"/api/v1/namespaces/{NS}/configmaps",
        {"metadata": {"name": "cfg"}, "data": {"mode": "fast"}},
    )
    code = (
        f"import json, os, time; json.dump(dict(os.environ), open({str(out)!r}, 'w')); "
        "time.sleep(60)"
    )
    env: list[dict[str, Any]] = [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
        {"name": "LITERAL", "value": "x-$(MODE)"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    kube.post(DEPLOYMENTS, _deployment("envy", code, env=env))
    wait_for(lambda: out.exists() and out.read_text(), what="env dump")
    seen = json.loads(out.read_text())
    assert seen["PASSWORD"] == "s3cret"
    assert seen["MODE"] == "fast"
    assert seen["LITERAL"] == "x-fast"
    assert seen["POD"].startswith("envy-")


def test_deleting_a_pod_replaces_its_process(kube: Kube) -> None:
    kube.post(DEPLOYMENTS, _deployment("phoenix", "import time; time.sleep(60)"))
    first = wait_for(
        lambda: _status(kube, "phoenix").get("readyReplicas") == 1 and _pods(kube, "phoenix")[0],
        what="ready",
    )
    # A Pod may be created directly now; one without containers is invalid, as upstream.
    assert kube.post(PODS, {"metadata": {"name": "manual"}}).status == 422
    kube.delete(f"{PODS}/{first['metadata']['name']}")
    wait_for(
        lambda: [
            p for p in _pods(kube, "phoenix") if p["metadata"]["name"] != first["metadata"]["name"]
        ],
        what="replacement pod",
    )


def test_cluster_stop_kills_every_process(tmp_path: Path) -> None:
    cluster = Cluster(state_dir=tmp_path / "s2").start()
    try:
        kube = Kube(cluster.kubeconfig)
        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
        kube.post(DEPLOYMENTS, _deployment("ignorer", code, replicas=2, grace=1))
        pods = wait_for(
            lambda: _status(kube, "ignorer").get("readyReplicas") == 2 and _pods(kube, "ignorer"),
            what="2 ready",
        )
        pids = [int(p["metadata"]["annotations"]["devcluster.blackroad.io/pid"]) for p in pods]
    finally:
        cluster.stop()
    assert not any(_pid_alive(pid) for pid in pids)
