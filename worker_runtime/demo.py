"""`make run` for now: a local Redis (AOF on), two workers and a producer, with a live view.

Everything started here is stopped on Ctrl-C or SIGTERM, also when something fails.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from worker_runtime.client import SyncClient
from worker_runtime.durations import format_ms
from worker_runtime.localredis import RedisServer, free_port
from worker_runtime.models import JobSpec

QUEUES = ["lucidia", "alice", "default"]


def _table(client: SyncClient, started: float) -> Table:
    table = Table(title=f"BlackRoad Queues, local demo ({time.monotonic() - started:.0f}s)")
    for col in ("queue", "pending", "delayed", "running", "completed", "dead", "oldest"):
        table.add_column(col, justify="right" if col != "queue" else "left")
    for q in QUEUES:
        s = client.stats(q)
        oldest = format_ms(s.oldest_pending_age_ms) if s.oldest_pending_age_ms is not None else "-"
        table.add_row(q, *(str(v) for v in (s.pending, s.delayed, s.running, s.completed, s.dead)),
                      oldest)  # fmt: skip
    return table


def _produce(client: SyncClient, rng: random.Random) -> None:
    specs = []
    for _ in range(rng.randint(5, 40)):
        q = rng.choice(QUEUES)
        specs.append(
            JobSpec(q, "agent_task:inference", {"agent": q, "ms": rng.randint(5, 200),
                    "fail_rate": 0.05}, priority=rng.choice(["high", "normal", "low"]),
                    delay=rng.choice([None, None, None, 2.0]), max_attempts=2)
        )  # fmt: skip
    client.enqueue_many(specs)


def main() -> int:
    console = Console()
    state = Path(tempfile.mkdtemp(prefix="blackroad-demo-"))
    redis = RedisServer(state, aof=True)
    workers: list[subprocess.Popen[bytes]] = []
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        redis.start()
        console.print(f"export REDIS_URL={redis.url}")
        for i in range(2):
            port = free_port()
            log = open(state / f"worker-{i}.log", "wb")  # noqa: SIM115
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "worker_runtime", "worker", "start", "--queues",
                 ",".join(QUEUES), "--handlers", "worker_runtime.examples", "--concurrency",
                 "20", "--metrics-port", str(port)],
                env=dict(os.environ, REDIS_URL=redis.url), stdout=log, stderr=subprocess.STDOUT,
            ))  # fmt: skip
            console.print(f"worker {i}: metrics at http://127.0.0.1:{port}/metrics")
        console.print("Ctrl-C stops everything.")
        client = SyncClient(redis.url)
        rng, started = random.Random(), time.monotonic()
        with Live(_table(client, started), console=console, refresh_per_second=2) as live:
            while not stop:
                _produce(client, rng)
                time.sleep(0.5)
                live.update(_table(client, started))
        client.close()
    except KeyboardInterrupt:
        pass
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
        redis.stop()
        console.print(f"stopped; logs in {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
