"""Driver for our engine (run with the repository's own virtualenv)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import apaced, chunks, parse_args, report

from worker_runtime import Client, JobSpec

ROOT = Path(__file__).resolve().parents[2]


async def produce(url: str, queue: str, n: int, mode: str, rate: float | None) -> float:
    async with Client.from_url(url) as c:
        t0 = time.perf_counter()
        if rate is not None:
            async for _ in apaced(n, rate):
                await c.enqueue(queue, "bench_noop", {"t": time.time()})
        elif mode == "single":
            for _ in range(n):
                await c.enqueue(queue, "bench_noop", {"t": time.time()})
        else:
            for size in chunks(n):
                t = time.time()
                await c.enqueue_many([JobSpec(queue, "bench_noop", {"t": t})] * size)
        return time.perf_counter() - t0


def main() -> None:
    a = parse_args()
    if a.command == "worker":
        conc = [] if a.concurrency == "default" else ["--concurrency", a.concurrency]
        os.chdir(ROOT)
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "worker_runtime",
                "--redis-url",
                a.url,
                "worker",
                "start",
                "--queues",
                a.queue,
                "--handlers",
                "bench.handlers",
                "--metrics-port",
                "0",
                *conc,
            ],
        )
    rate = a.rate if a.command == "pace" else None
    report(asyncio.run(produce(a.url, a.queue, a.n, a.mode, rate)))


if __name__ == "__main__":
    main()
