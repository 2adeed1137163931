"""The kind tier: a kind cluster with the images built here, `kubectl apply -k manifests/`.

Gate: where `docker info` fails every test here is skipped with that reason (the only skip
the project allows). With Docker up, kind must be installed: a missing `kind` fails.
BLACKROAD_KIND_CLUSTER=NAME reuses (and keeps) an existing cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devstack import procs
from devstack.kube import KubeReader, Pod
from devstack.localredis import free_port
from devstack.stack import ROOT
from e2e.scenarios import log, wait_for

HERE = Path(__file__).parent
WORKER_IMAGE = "blackroad-queues/worker:dev"
OPERATOR_IMAGE = "blackroad-queues/operator:dev"
E2E_IMAGE = "blackroad-queues/worker-e2e:dev"
#: The dev Redis of manifests/redis.yaml as the pods reach it.
POD_REDIS_URL = "redis://redis.blackroad.svc:6379/0"


def docker_problem() -> str | None:
    """Why Docker cannot be used here, or None."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    try:
        got = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 60s"
    if got.returncode == 0:
        return None
    lines = [line for line in got.stderr.splitlines() if line.strip()]
    return f"docker info failed: {lines[-1] if lines else got.returncode}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(str(item.path)).parents]
    if not mine:
        return
    problem = docker_problem()
    if problem is not None:
        for item in mine:
            item.add_marker(pytest.mark.skip(reason=f"kind suite needs Docker: {problem}"))


def run(*argv: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    got = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and got.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed:\n{got.stdout}\n{got.stderr}")
    return got


class KindSystem:
    """A kind cluster as a ``scenarios.System``."""

    image = E2E_IMAGE
    handlers = "e2e.handlers"

    def __init__(self, name: str, kubeconfig: Path, redis_url: str) -> None:
        self.name, self.kubeconfig, self.redis_url = name, kubeconfig, redis_url
        self.kube = KubeReader(kubeconfig)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        argv = ["kubectl", "--kubeconfig", str(self.kubeconfig), *args]
        got = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and got.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {got.stderr}")
        return got

    def workers(self, namespace: str, pool: str) -> list[str]:
        pods = self.kube.pods(namespace, pool)
        return [f"{namespace}/{p.name}" for p in pods if p.running and not p.deleting]

    def alive(self, worker: str) -> bool:
        namespace, name = worker.split("/")
        return any(p.name == name and p.running for p in self.kube.pods(namespace))

    def kill_worker(self, worker: str) -> None:
        namespace, name = worker.split("/")
        self._sigkill([p for p in self.kube.pods(namespace) if p.name == name])

    def kill_operator(self) -> None:
        # SIGKILL every replica's process; the kubelet restarts the containers (restartPolicy).
        got = self.kubectl(
            "get",
            "pods",
            "-n",
            "blackroad",
            "-l",
            "app.kubernetes.io/name=blackroad-operator",
            "-o",
            "jsonpath={range .items[*]}{.spec.nodeName} "
            "{.status.containerStatuses[0].containerID}{'\\n'}{end}",
        )
        for line in got.stdout.splitlines():
            node, container = line.split()
            self._kill_container(node, container)

    def _sigkill(self, pods: list[Pod]) -> None:
        for pod in pods:
            assert pod.container_id, f"{pod} has no container to kill"
            self._kill_container(pod.node, pod.container_id)

    def _kill_container(self, node: str, container_id: str) -> None:
        # A real SIGKILL of the container's main process, from the node (kind: a container).
        cid = container_id.split("://")[-1]
        pid = run(
            "docker",
            "exec",
            node,
            "crictl",
            "inspect",
            "--output",
            "go-template",
            "--template",
            "{{.info.pid}}",
            cid,
        ).stdout.strip()
        run("docker", "exec", node, "kill", "-9", pid)


def _ensure_cluster(name: str, kubeconfig: Path, reuse: bool) -> None:
    if shutil.which("kind") is None:
        pytest.fail("Docker is up but `kind` is not installed: see https://kind.sigs.k8s.io")
    clusters = run("kind", "get", "clusters").stdout.split()
    if name not in clusters:
        if reuse:
            pytest.fail(f"BLACKROAD_KIND_CLUSTER={name}: no such kind cluster")
        run("kind", "create", "cluster", "--name", name, "--wait", "180s", timeout=900)
    kubeconfig.write_text(run("kind", "get", "kubeconfig", "--name", name).stdout)


def _build_and_load(name: str) -> None:
    run("docker", "build", "-t", WORKER_IMAGE, "-f", str(ROOT / "Dockerfile"), str(ROOT))
    run("docker", "build", "-t", OPERATOR_IMAGE, "-f", str(ROOT / "Dockerfile.operator"), str(ROOT))
    run("docker", "build", "-t", E2E_IMAGE, "-f", str(HERE / "Dockerfile.e2e"), str(ROOT / "e2e"))
    for image in (WORKER_IMAGE, OPERATOR_IMAGE, E2E_IMAGE):
        run("kind", "load", "docker-image", image, "--name", name)


def _install(system: KindSystem) -> None:
    # CRDs and the custom resources using them (ClusterKopfPeering) arrive in one apply; the
    # first may fail on "no matches for kind" before the CRDs are established: apply again.
    for attempt in range(5):
        got = system.kubectl("apply", "-k", str(HERE / "install"), check=False)
        if got.returncode == 0:
            break
        log(f"apply -k manifests/ attempt {attempt + 1}: {got.stderr.strip()}")
        time.sleep(3)
    else:
        raise AssertionError(f"kubectl apply -k manifests/ kept failing: {got.stderr}")
    system.kubectl(
        "rollout", "status", "-n", "blackroad", "statefulset/redis", "--timeout=300s", timeout=320
    )
    system.kubectl(
        "rollout",
        "status",
        "-n",
        "blackroad",
        "deployment/blackroad-operator",
        "--timeout=300s",
        timeout=320,
    )


@pytest.fixture(scope="session")
def kind_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KindSystem]:
    reused = os.environ.get("BLACKROAD_KIND_CLUSTER")
    name = reused or "blackroad-e2e"
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    _ensure_cluster(name, kubeconfig, bool(reused))
    forward: subprocess.Popen[bytes] | None = None
    try:
        _build_and_load(name)
        port = free_port()
        system = KindSystem(name, kubeconfig, f"redis://127.0.0.1:{port}/0")
        _install(system)
        # The tests reach the in-cluster Redis through a port-forward; the pods by its Service.
        forward = procs.spawn(
            [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig),
                "port-forward",
                "-n",
                "blackroad",
                "svc/redis",
                f"{port}:6379",
            ],
            tmp_path_factory.mktemp("pf") / "port-forward.log",
        )
        conn = redis.Redis.from_url(system.redis_url, socket_connect_timeout=1)
        wait_for(lambda: _pings(conn), timeout=60, what="Redis through the port-forward")
        conn.close()
        system.kubectl("apply", "-k", str(HERE / "examples"))
        yield system
        system.kube.close()
    finally:
        procs.stop(forward, grace=5)
        if not reused:
            run("kind", "delete", "cluster", "--name", name, check=False)


def _pings(conn: redis.Redis) -> bool:
    try:
        return bool(conn.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def kind_namespace(kind_system: KindSystem) -> Iterator[str]:
    name = f"e2e-{os.urandom(4).hex()}"
    kind_system.kubectl("create", "namespace", name)
    secret = (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: blackroad-redis}}\n"
        f"stringData: {{url: '{POD_REDIS_URL}'}}\n"
    )
    kind_system.kubectl("apply", "-n", name, "-f", "-", input=secret)
    yield name
    kind_system.kubectl("delete", "namespace", name, "--wait=false", check=False)
