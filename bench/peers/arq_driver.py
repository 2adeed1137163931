"""Driver for arq: no bulk API; the worker is arq's Worker in this process (no per-job log)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from common import apaced, parse_args, report, stamp


async def noop(ctx: dict[str, Any], t: float) -> None:
    stamp(t)


async def produce(url: str, queue: str, n: int, rate: float | None) -> float:
    pool = await create_pool(RedisSettings.from_dsn(url), default_queue_name=queue)
    t0 = time.perf_counter()
    if rate is not None:
        async for _ in apaced(n, rate):
            await pool.enqueue_job("noop", time.time())
    else:
        for _ in range(n):
            await pool.enqueue_job("noop", time.time())
    took = time.perf_counter() - t0
    await pool.aclose()
    return took


def main() -> None:
    a = parse_args()
    if a.command == "worker":
        extra = {} if a.concurrency == "default" else {"max_jobs": int(a.concurrency)}
        settings = RedisSettings.from_dsn(a.url)
        worker = Worker([noop], queue_name=a.queue, redis_settings=settings, **extra)
        worker.run()
        return
    if a.mode == "bulk":
        sys.exit("arq has no bulk enqueue API")
    report(asyncio.run(produce(a.url, a.queue, a.n, a.rate if a.command == "pace" else None)))


if __name__ == "__main__":
    main()
