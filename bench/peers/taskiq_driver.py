"""Driver for taskiq with taskiq-redis streams: ``kiq`` one at a time, no bulk API; the worker
is ``taskiq worker`` with one worker process (its default is 2), 100 async tasks by default."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import apaced, parse_args, report  # noqa: E402


async def produce(n: int, rate: float | None) -> float:
    from taskiq_tasks import broker, noop

    await broker.startup()
    t0 = time.perf_counter()
    if rate is not None:
        async for _ in apaced(n, rate):
            await noop.kiq(time.time())
    else:
        for _ in range(n):
            await noop.kiq(time.time())
    took = time.perf_counter() - t0
    await broker.shutdown()
    return took


def main() -> None:
    a = parse_args()
    os.environ["BENCH_URL"] = a.url
    os.environ["BENCH_QUEUE"] = a.queue
    if a.command == "worker":
        taskiq = str(Path(sys.executable).parent / "taskiq")
        conc = [] if a.concurrency == "default" else ["--max-async-tasks", a.concurrency]
        os.environ["PYTHONPATH"] = str(HERE)
        os.execv(taskiq, [taskiq, "worker", "taskiq_tasks:broker", "--workers", "1", *conc])
    if a.mode == "bulk":
        sys.exit("taskiq has no bulk enqueue API")
    report(asyncio.run(produce(a.n, a.rate if a.command == "pace" else None)))


if __name__ == "__main__":
    main()
