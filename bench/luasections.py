"""Where Redis's time goes inside one script call: the script cut short before each of its
top-level statements, so the differences between the cuts are what each part costs; and
what one request costs Redis when calls come back to back ("hot") against one every 10 ms
("cold", as at 100 jobs/s).

A cut is the script's source with ``do return 1 end`` inserted before a top-level line (no
indentation, not closing a block). Each cut runs ``--calls`` times on a fresh copy of the
same state (EVALSHA's own µs from ``INFO commandstats``, the commands it calls included);
the figures are medians over ``--rounds``.

    python -m bench.luasections [--calls 2000] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from bench.luacost import QUEUE, Runner, Scenarios
from devstack.localredis import RedisServer
from worker_runtime.engine import writes
from worker_runtime.engine.lua import scripts
from worker_runtime.engine.operation import Op

#: Lines that continue or close a block: no statement starts there.
_NOT_A_STATEMENT = ("end", "else", "elseif", "until", ")", "}", "--")
CUT = "do return 1 end\n"


def cuts(source: str, first: str = "local now = nowMs()") -> list[tuple[str, str]]:
    """(the statement cut before, the source cut there) for every top-level statement from
    ``first`` on, in order, then ("end", source): the whole script."""
    lines = source.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    out = []
    for i in range(start, len(lines)):
        line = lines[i]
        if not line or line[0].isspace() or line.startswith(_NOT_A_STATEMENT):
            continue
        out.append((line.strip()[:48], "\n".join([*lines[:i], CUT + line, *lines[i + 1 :]])))
    out.append(("end", source))
    return out


def _evalsha_us(r: redis.Redis) -> float:
    row: dict[str, Any] = r.info("commandstats").get("cmdstat_evalsha", {})
    return float(row.get("usec_per_call", 0.0))


class Profile:
    """The cuts of the hot scripts, each timed on the state its scenario sets up."""

    def __init__(self, r: redis.Redis, calls: int) -> None:
        self.r, self.calls = r, calls
        self.scenarios = Scenarios(Runner(r), calls)

    def _raw(self, op: Op[Any], sha: str) -> None:
        assert op.script is not None
        keys = scripts()[op.script].key_list(op.keys)
        self.r.evalsha(sha, len(keys), *keys, *op.args)

    def script(self, name: str, setup: Callable[[], None], ops: Callable[[], list[Op[Any]]]) -> Any:
        """µs per call up to each cut of ``name``; state from ``setup`` before each cut."""
        rows = []
        for label, source in cuts(scripts()[name].source):
            self.r.flushall()
            setup()
            batch = ops()
            sha = str(self.r.script_load(source))
            self.r.config_resetstat()
            for op in batch:
                self._raw(op, sha)
            rows.append((label, _evalsha_us(self.r)))
        return rows

    def all(self) -> dict[str, list[tuple[str, float]]]:
        s = self.scenarios
        n = self.calls

        def enqueues() -> list[Op[Any]]:
            return [writes.enqueue(QUEUE, [j]) for j in s.prepared]

        def claims() -> list[Op[Any]]:
            return [writes.claim(QUEUE, "w1", 1) for _ in range(n)]

        def completes() -> list[Op[Any]]:
            return [writes.complete(QUEUE, "w1", [(j.id, j.token, "")]) for j in s.held]

        return {
            "enqueue": self.script("enqueue", s.nothing, enqueues),
            "claim": self.script("claim", s.backlog, claims),
            "complete": self.script("complete", s.claimed(1), completes),
        }


def request_cost(r: redis.Redis, calls: int) -> dict[str, dict[str, float]]:
    """Redis CPU µs per request (INFO cpu), back to back and one every 10 ms."""
    sha = str(r.script_load("return 1"))
    kinds: dict[str, Callable[[int], Any]] = {
        "PING": lambda i: r.ping(),
        "LPUSH": lambda i: r.lpush("bench:list", "x"),
        "XADD": lambda i: r.xadd("bench:stream", {"d": "x"}),
        "EVALSHA return 1": lambda i: r.evalsha(sha, 0),
    }
    out = {}
    for kind, call in kinds.items():
        row = {}
        for mode, n, pause in (("hot", calls, 0.0), ("cold", min(calls, 300), 0.01)):
            cpu0 = _cpu_s(r)
            for i in range(n):
                call(i)
                if pause:
                    time.sleep(pause)
            row[mode] = round((_cpu_s(r) - cpu0) * 1e6 / n, 1)
        out[kind] = row
    return out


def _cpu_s(r: redis.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    runs: list[dict[str, list[tuple[str, float]]]] = []
    reqs: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            r = redis.Redis.from_url(server.url, decode_responses=True)
            for _ in range(args.rounds):
                runs.append(Profile(r, args.calls).all())
                reqs.append(request_cost(r, args.calls))
        finally:
            server.stop()
    out: dict[str, Any] = {"scripts": {}, "requests": {}}
    for name in runs[0]:
        rows = []
        prev = 0.0
        for k, (label, _) in enumerate(runs[0][name]):
            us = statistics.median(run[name][k][1] for run in runs)
            rows.append({"before": label, "us_so_far": round(us, 2), "part": round(us - prev, 2)})
            prev = us
        out["scripts"][name] = rows
    for kind in reqs[0]:
        out["requests"][kind] = {
            mode: statistics.median(run[kind][mode] for run in reqs) for mode in reqs[0][kind]
        }
    _print(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def _print(out: dict[str, Any]) -> None:
    for name, rows in out["scripts"].items():
        print(f"\n{name}: EVALSHA µs per call up to each statement (the part: the difference)")
        for row in rows:
            print(f"  {row['us_so_far']:7.2f} {row['part']:+7.2f}  {row['before']}")
    print("\nRedis CPU µs per request (INFO cpu): back to back / one every 10 ms")
    for kind, row in out["requests"].items():
        print(f"  {kind:18} {row['hot']:7.1f} {row['cold']:7.1f}")


if __name__ == "__main__":
    sys.exit(main())
