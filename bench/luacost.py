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
import os
import statistics
import subprocess
import sys
import tempfile
import threading
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

    def __init__(self, r: redis.Redis, sources: dict[str, str] | None = None) -> None:
        self.r = r
        #: The scripts run (by name): this tree's, or another's (``--versus``).
        self.sources = sources or {n: s.source for n, s in scripts().items()}
        self.sha: dict[str, str] = {}

    def run(self, op: Op[Any]) -> Any:
        assert op.script is not None
        script = scripts()[op.script]
        if op.script not in self.sha:
            self.sha[op.script] = str(self.r.script_load(self.sources[op.script]))
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


class Side:
    """One Redis server and the scripts it runs; measures a scenario's body on it."""

    def __init__(self, url: str, sources: dict[str, str] | None, n: int) -> None:
        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.scenarios = Scenarios(Runner(self.r, sources), n)
        self.n = n
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self._cpu0 = 0.0

    def prepare(self, name: str) -> None:
        self.r.flushall()
        self.scenarios.all()[name][0]()
        self.r.config_resetstat()
        self._cpu0 = _cpu_us(self.r)

    def body(self, name: str) -> None:
        self.scenarios.all()[name][1]()

    def record(self, name: str) -> None:
        cpu = _cpu_us(self.r) - self._cpu0
        stats = _stats(self.r)
        calls = sum(c for c, _ in stats.values())
        n = self.n
        self.rows.setdefault(name, []).append(
            {
                "cpu_us_per_job": cpu / n,
                "cmds_per_job": calls / n,
                "by_command": {
                    k: [round(c / n, 2), round(u / n, 2)] for k, (c, u) in sorted(stats.items())
                },
            }
        )


def other_tree_sources(tree: Path) -> dict[str, str]:
    """The scripts as another checkout of the project builds them (its own loader)."""
    code = (
        "import json; from worker_runtime.engine.lua import scripts; "
        "print(json.dumps({n: s.source for n, s in scripts().items()}))"
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True
    )
    found: dict[str, str] = json.loads(out.stdout)
    return found


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
    ap.add_argument(
        "--versus",
        type=Path,
        help="another checkout (e.g. main's): its scripts run on a second Redis at the same "
        "time as ours, scenario by scenario, so both see the same machine load",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    theirs = other_tree_sources(args.versus) if args.versus else None
    with tempfile.TemporaryDirectory() as tmp:
        servers = [RedisServer(Path(tmp) / str(i)) for i in range(2 if theirs else 1)]
        try:
            for server in servers:
                server.workdir.mkdir()
                server.start()
            sides = [Side(servers[0].url, None, args.jobs)]
            if theirs is not None:
                sides.append(Side(servers[1].url, theirs, args.jobs))
            _run(sides, args.rounds, args.watch)
        finally:
            for server in servers:
                server.stop()
    out = {"ours": {name: _median(runs) for name, runs in sides[0].rows.items()}}
    _print("this tree", out["ours"])
    if len(sides) > 1:
        out["versus"] = {name: _median(runs) for name, runs in sides[1].rows.items()}
        _print(f"versus {args.versus}", out["versus"])
        _compare(out["ours"], out["versus"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def _run(sides: list[Side], rounds: int, watch: bool) -> None:
    """Every scenario, ``rounds`` times, on every side at once."""
    subs = []
    if watch:
        for side in sides:
            sub = side.r.pubsub()  # type: ignore[no-untyped-call]
            sub.subscribe(QueueKeys.of(QUEUE).events)
            subs.append(sub)
    for _ in range(rounds):
        for name in sides[0].scenarios.all():
            for side in sides:
                side.prepare(name)
            threads = [threading.Thread(target=side.body, args=(name,)) for side in sides]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for side in sides:
                side.record(name)
            for sub in subs:
                while sub.get_message(timeout=0):
                    pass
    for sub in subs:
        sub.close()


def _script_us(row: dict[str, Any]) -> float:
    """µs per job inside the scripts (EVALSHA's own time, the commands they call included)."""
    return float(row["by_command"].get("evalsha", [0, 0])[1])


def _compare(ours: dict[str, Any], versus: dict[str, Any]) -> None:
    print(
        f"\n{'scenario':26} {'CPU µs/job':>20} {'script µs/job':>20} {'cmds/job':>14}"
        "  (versus -> this tree)"
    )
    for name, row in ours.items():
        v = versus[name]
        cells = []
        for a, b in (
            (v["cpu_us_per_job"], row["cpu_us_per_job"]),
            (_script_us(v), _script_us(row)),
        ):
            cells.append(f"{a:6.1f} -> {b:5.1f} ({100 * (b - a) / a:+4.0f}%)")
        print(
            f"{name:26} {cells[0]:>20} {cells[1]:>20} "
            f"{v['cmds_per_job']:5.2f} -> {row['cmds_per_job']:5.2f}"
        )


def _print(title: str, rows: dict[str, Any]) -> None:
    head = f"{'scenario':28} {'CPU µs/job':>11} {'cmds/job':>9}  top commands (calls/job, µs/job)"
    print(f"{title}\n{head}")
    for name, row in rows.items():
        top = sorted(row["by_command"].items(), key=lambda kv: -kv[1][1])[:6]
        tops = ", ".join(f"{k} {c:g}/{u:g}" for k, (c, u) in top)
        print(f"{name:28} {row['cpu_us_per_job']:11.1f} {row['cmds_per_job']:9.2f}  {tops}")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = sorted(runs, key=lambda x: float(x["cpu_us_per_job"]))[len(runs) // 2]
    return {
        "cpu_us_per_job": round(statistics.median(x["cpu_us_per_job"] for x in runs), 1),
        "cmds_per_job": round(statistics.median(x["cmds_per_job"] for x in runs), 2),
        "by_command": best["by_command"],
    }


if __name__ == "__main__":
    sys.exit(main())
