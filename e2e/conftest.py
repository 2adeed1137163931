"""The local e2e tier: one devstack (Redis, devcluster with its kubelet, the operator process)
per session, the same code `make run` starts; each test gets its own namespace."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import procs
from devstack.kube import KubeReader
from devstack.stack import Stack, StackConfig
from e2e.scenarios import log

#: Every process the e2e tier starts inherits this variable: what still carries it after the
#: session (or after a `make run`) was left behind.
MARKER = "BLACKROAD_E2E_RUN"


def marked_processes(value: str) -> list[int]:
    """Pids whose environment has MARKER=value (Linux /proc)."""
    found, needle = [], f"{MARKER}={value}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and procs.alive(int(entry.name)):
            found.append(int(entry.name))
    return found


class LocalSystem:
    """The devstack as a ``scenarios.System``."""

    image = "blackroad-queues/worker:dev"  # ignored by the process kubelet
    handlers = "e2e.handlers"

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.redis_url = stack.redis_url
        self.kube = KubeReader(stack.kubeconfig)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        got = self.stack.kubectl(*args, input=input, check=False, timeout=timeout)
        if check and got.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {got.stderr}")
        return got

    def workers(self, namespace: str, pool: str) -> list[str]:
        pods = self.kube.pods(namespace, pool)
        return [str(p.pid) for p in pods if p.pid is not None and procs.alive(p.pid)]

    def alive(self, worker: str) -> bool:
        return procs.alive(int(worker))

    def kill_worker(self, worker: str) -> None:
        os.kill(int(worker), signal.SIGKILL)

    def kill_operator(self) -> None:
        # As a Deployment's kubelet would: the operator dies and a new one starts a bit later.
        self.stack.kill_operator()
        self.stack.start_operator()


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, run_id: str) -> Iterator[Stack]:
    config = StackConfig(
        state_dir=tmp_path_factory.mktemp("devstack"),
        operator_tick=0.2,
        status_interval=0.5,
        env={MARKER: run_id},
    )
    s = Stack(config)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        left = marked_processes(run_id)
        for pid in left:
            procs.kill_group(pid)
        if left:
            log(f"processes left behind by the session stack (killed now): {left}")


@pytest.fixture(scope="session")
def system(stack: Stack) -> Iterator[LocalSystem]:
    s = LocalSystem(stack)
    yield s
    s.kube.close()


@pytest.fixture
def namespace(system: LocalSystem) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    system.kubectl("create", "namespace", name)
    system.stack.apply_redis_secret(name)
    yield name
    system.kubectl("delete", "namespace", name, "--wait=false", check=False)
