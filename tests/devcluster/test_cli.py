"""The `devcluster` command: prints the KUBECONFIG export and stops everything on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from devcluster import __version__
from devcluster.cli import devcluster
from tests.devcluster.conftest import wait_for
from tests.devcluster.kube import Kube


def test_click_command_shape() -> None:
    assert isinstance(devcluster, click.Command)
    assert devcluster.name == "devcluster"
    options = {opt for param in devcluster.params for opt in param.opts}
    assert {"--port", "--state-dir"} <= options
    assert "test" in __version__ and "dev" in __version__


def test_python_m_devcluster_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    process = subprocess.Popen(
        [sys.executable, "-m", "devcluster", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("export KUBECONFIG="), line
        kubeconfig = Path(line.split("=", 1)[1])
        assert kubeconfig == (state / "kubeconfig").resolve()
        kube = Kube(kubeconfig)
        assert kube.get("/api/v1/namespaces").status == 200
        code = "import time; time.sleep(60)"
        kube.post(
            "/apis/apps/v1/namespaces/default/deployments",
            {
                "metadata": {"name": "sleeper"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "s"}},
                    "template": {
                        "metadata": {"labels": {"app": "s"}},
                        "spec": {
                            "terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "m", "command": [sys.executable, "-c", code]}],
                        },
                    },
                },
            },
        )

        def pid() -> int:
            pods = kube.get("/api/v1/namespaces/default/pods").body["items"]
            value = (
                pods[0]["metadata"]["annotations"]["devcluster.blackroad.io/pid"] if pods else ""
            )
            return int(value) if value else 0

        child = wait_for(pid, what="the kubelet to start the process")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    try:
        os.kill(child, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "devcluster must stop the processes it started"
