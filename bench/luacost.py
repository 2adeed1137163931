"""Redis's cost of each engine script per job: CPU µs and commands, on a private redis-server.

Each scenario runs N jobs through the scripts on an emptied Redis and reads the deltas of
``INFO cpu`` (used_cpu_user + used_cpu_sys: what bounds a fleet on one Redis) and
``INFO commandstats`` (calls and µs per command, the commands the scripts call included).
Only the scenario's own script calls are timed; its set-up (a bulk enqueue before a drain)
is not. Compare two trees A/B with ``PYTHONPATH=<tree> python bench/luacost.py``.

    python -m bench.luacost [--jobs 5000] [--rounds 3] [--watch] [--json out.json]

``--watch`` keeps a subscriber on the queue's events channel (what the dashboard does), so
the events path is measured too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from devstack.localredis import RedisServer
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.lua import scripts
from worker_runtime.engine.operation import Op
from worker_runtime.engine.prepare import PreparedJob, prepare_many
from worker_runtime.models import ClaimedJob, JobSpec

QUEUE = "cost"
#: keep_completed of the queue measured (a queue at its retention trims on every completion).
KEEP = 1000
#: Commands of the harness itself, not of the scenario.
HARNESS = {"info", "config|resetstat", "flushall", "script|load", "subscribe", "ping"}


class Runner:
    """Runs ops by EVALSHA on a synchronous client (no Python event loop in the way)."""

    def __init__(self, r: redis.Redis) -> None:
        self.r = r
        self.sha: dict[str, str] = {}

    def run(self, op: Op[Any]) -> Any:
        assert op.script is not None
        script = scripts()[op.script]
        if op.script not in self.sha:
            self.sha[op.script] = str(self.r.script_load(script.source))
        keys = script.key_list(op.keys)
        reply = self.r.evalsha(self.sha[op.script], len(keys), *keys, *op.args)
        return op.parse(reply)


def _jobs(n: int) -> list[PreparedJob]:
    return prepare_many([JobSpec(QUEUE, "noop", {"i": i}) for i in range(n)])


def _cpu_us(r: redis.Redis) -> float:
    info = r.info("cpu")
    return (float(info["used_cpu_user"]) + float(info["used_cpu_sys"])) * 1e6


def _stats(r: redis.Redis) -> dict[str, tuple[int, int]]:
    raw: dict[str, dict[str, Any]] = r.info("commandstats")
    out = {}
    for name, row in raw.items():
        cmd = name.removeprefix("cmdstat_")
        if cmd not in HARNESS:
            out[cmd] = (int(row["calls"]), int(row["usec"]))
    return out


def measure(
    r: redis.Redis, n: int, setup: Callable[[], None], body: Callable[[], None]
) -> dict[str, Any]:
    r.flushall()
    setup()
    r.config_resetstat()
    cpu0 = _cpu_us(r)
    body()
    cpu1 = _cpu_us(r)
    stats = _stats(r)
    calls = sum(c for c, _ in stats.values())
    return {
        "cpu_us_per_job": (cpu1 - cpu0) / n,
        "cmds_per_job": calls / n,
        "by_command": {
            k: [round(c / n, 2), round(u / n, 2)] for k, (c, u) in sorted(stats.items())
        },
    }


Scenario = tuple[Callable[[], None], Callable[[], None]]


class Scenarios:
    """Each scenario: a set-up (not measured) and a body (measured), over n jobs."""

    def __init__(self, run: Runner, n: int) -> None:
        self.run, self.n = run, n
        self.prepared = _jobs(n)
        self.held: list[ClaimedJob] = []

    def all(self) -> dict[str, Scenario]:
        return {
            "enqueue single": (self.nothing, self.enqueue(1)),
            "enqueue bulk (100/call)": (self.nothing, self.enqueue(100)),
            "claim, batch 1": (self.backlog, self.claim(1)),
            "complete, batch 1": (self.claimed(1), self.complete(1)),
            "claim, batch 10": (self.backlog, self.claim(10)),
            "complete, batch 10": (self.claimed(10), self.complete(10)),
            "fail (retry scheduled)": (self.claimed(10), self.fail),
            "empty claim (per call)": (self.nothing, self.idle_claim),
        }

    def nothing(self) -> None:
        # Retention as a queue that has run for a while: every completion trims one job.
        self.run.run(writes.configure(QUEUE, {"keep_completed": str(KEEP)}))

    def backlog(self) -> None:
        self.nothing()
        for i in range(0, self.n, writes.ENQUEUE_CHUNK):
            self.run.run(writes.enqueue(QUEUE, self.prepared[i : i + writes.ENQUEUE_CHUNK]))

    def enqueue(self, per_call: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(0, self.n, per_call):
                self.run.run(writes.enqueue(QUEUE, self.prepared[i : i + per_call]))

        return go

    def claim(self, batch: int) -> Callable[[], None]:
        def go() -> None:
            self.held = []
            while got := self.run.run(writes.claim(QUEUE, "w1", batch)).jobs:
                self.held += got

        return go

    def claimed(self, batch: int) -> Callable[[], None]:
        def go() -> None:
            self.backlog()
            self.claim(batch)()

        return go

    def complete(self, batch: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(0, len(self.held), batch):
                done = [(j.id, j.token, "") for j in self.held[i : i + batch]]
                self.run.run(writes.complete(QUEUE, "w1", done))

        return go

    def fail(self) -> None:
        for j in self.held:
            self.run.run(writes.fail(QUEUE, j.id, j.token, reason="Error", error="boom"))

    def idle_claim(self) -> None:
        for _ in range(self.n):
            self.run.run(writes.claim(QUEUE, "w1", 10))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3, help="medians over this many rounds")
    ap.add_argument("--watch", action="store_true", help="a subscriber on the events channel")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            r = redis.Redis.from_url(server.url, decode_responses=True)
            sub = None
            if args.watch:
                sub = r.pubsub()  # type: ignore[no-untyped-call]
                sub.subscribe(QueueKeys.of(QUEUE).events)
            run = Runner(r)
            rows: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.rounds):
                for name, (setup, body) in Scenarios(run, args.jobs).all().items():
                    rows.setdefault(name, []).append(measure(r, args.jobs, setup, body))
                    if sub is not None:
                        while sub.get_message(timeout=0):
                            pass
            if sub is not None:
                sub.close()
        finally:
            server.stop()
    out = {name: _median(runs) for name, runs in rows.items()}
    print(f"{'scenario':28} {'CPU µs/job':>11} {'cmds/job':>9}  top commands (calls/job, µs/job)")
    for name, row in out.items():
        top = sorted(row["by_command"].items(), key=lambda kv: -kv[1][1])[:6]
        tops = ", ".join(f"{k} {c:g}/{u:g}" for k, (c, u) in top)
        print(f"{name:28} {row['cpu_us_per_job']:11.1f} {row['cmds_per_job']:9.2f}  {tops}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = sorted(runs, key=lambda x: float(x["cpu_us_per_job"]))[len(runs) // 2]
    return {
        "cpu_us_per_job": round(statistics.median(x["cpu_us_per_job"] for x in runs), 1),
        "cmds_per_job": round(statistics.median(x["cmds_per_job"] for x in runs), 2),
        "by_command": best["by_command"],
    }


if __name__ == "__main__":
    sys.exit(main())
