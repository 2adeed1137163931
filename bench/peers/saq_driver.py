"""Driver for SAQ: no bulk API (``Queue.map`` waits for results); the worker is SAQ's Worker
in this process."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import apaced, parse_args, report, stamp
from saq import Queue, Worker


async def noop(ctx: dict[str, Any], *, t: float) -> None:
    stamp(t)


async def produce(url: str, queue: str, n: int, rate: float | None) -> float:
    q = Queue.from_url(url, name=queue)
    await q.connect()
    t0 = time.perf_counter()
    if rate is not None:
        async for _ in apaced(n, rate):
            await q.enqueue("noop", t=time.time())
    else:
        for _ in range(n):
            await q.enqueue("noop", t=time.time())
    took = time.perf_counter() - t0
    await q.disconnect()
    return took


async def work(url: str, queue: str, concurrency: str) -> None:
    extra = {} if concurrency == "default" else {"concurrency": int(concurrency)}
    worker = Worker(Queue.from_url(url, name=queue), functions=[noop], **extra)
    await worker.start()


def main() -> None:
    a = parse_args()
    if a.command == "worker":
        asyncio.run(work(a.url, a.queue, a.concurrency))
        return
    if a.mode == "bulk":
        sys.exit("SAQ has no bulk enqueue API")
    report(asyncio.run(produce(a.url, a.queue, a.n, a.rate if a.command == "pace" else None)))


if __name__ == "__main__":
    main()
