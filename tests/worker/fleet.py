"""Real worker processes for fault tests; every process is killed when the fleet closes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


class Fleet:
    def __init__(
        self,
        redis_url: str,
        workdir: Path,
        queues: str = "q",
        concurrency: int = 10,
        grace: str = "5s",
        health: bool = False,
    ) -> None:
        self.redis_url = redis_url
        self.workdir = workdir
        self.log = workdir / "executions.log"
        self.log.touch()
        self.queues = queues
        self.concurrency = concurrency
        self.grace = grace
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.starts = 0
        #: Serve /readyz (and /metrics) on a free port per worker; see ``ready``.
        self.health = health
        self.ports: dict[int, int] = {}

    def start(self, index: int) -> subprocess.Popen[bytes]:
        self.starts += 1
        out = open(self.workdir / f"worker-{index}-{self.starts}.log", "wb")  # noqa: SIM115
        port = self.ports[index] = free_port() if self.health else 0
        env = dict(
            os.environ, FAULT_LOG=str(self.log), REDIS_URL=self.redis_url, PYTHONPATH=str(ROOT)
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "worker_runtime",
                "worker",
                "start",
                "--queues",
                self.queues,
                "--handlers",
                "tests.worker.fault_handlers",
                "--concurrency",
                str(self.concurrency),
                "--metrics-port",
                str(port),
                "--grace",
                self.grace,
                "--name",
                f"w{index}-{self.starts}",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        out.close()
        self.procs[index] = proc
        return proc

    def signal(self, index: int, sig: int) -> None:
        proc = self.procs[index]
        if proc.poll() is None:
            proc.send_signal(sig)

    def kill(self, index: int) -> None:
        self.signal(index, signal.SIGKILL)
        self.procs[index].wait(timeout=10)

    def alive(self, index: int) -> bool:
        return self.procs[index].poll() is None

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait(timeout=10)

    def ready(self, index: int) -> bool | None:
        """What the worker's /readyz says; None while it does not answer at all."""
        url = f"http://127.0.0.1:{self.ports[index]}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return bool(reply.status == 200)
        except urllib.error.HTTPError as exc:
            return exc.code == 200
        except OSError:
            return None

    def executions(self, kind: str = "done") -> Counter[str]:
        counts: Counter[str] = Counter()
        for line in self.log.read_text().splitlines():
            k, job_id = line.split(" ", 1)
            if k == kind:
                counts[job_id] += 1
        return counts

    def wait_until(self, predicate: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if callable(predicate) and predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"not reached within {timeout}s; logs in {self.workdir}")
