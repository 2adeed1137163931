"""Driver for RQ: ``enqueue`` one at a time, ``enqueue_many`` in bulk (one pipeline per chunk);
the worker is ``rq worker`` (forks per job by default; ``--concurrency simple`` runs
SimpleWorker, in-process). RQ has no concurrency within one worker process."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import rq_tasks  # noqa: E402
from common import chunks, paced, parse_args, report  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402


def produce(url: str, queue: str, n: int, mode: str, rate: float | None) -> float:
    q = Queue(queue, connection=Redis.from_url(url))
    t0 = time.perf_counter()
    if rate is not None:
        for _ in paced(n, rate):
            q.enqueue(rq_tasks.noop, time.time())
    elif mode == "single":
        for _ in range(n):
            q.enqueue(rq_tasks.noop, time.time())
    else:
        for size in chunks(n):
            t = time.time()
            q.enqueue_many([Queue.prepare_data(rq_tasks.noop, (t,)) for _ in range(size)])
    return time.perf_counter() - t0


def main() -> None:
    a = parse_args()
    if a.command == "worker":
        rq = str(Path(sys.executable).parent / "rq")
        cls = ["-w", "rq.worker.SimpleWorker"] if a.concurrency == "simple" else []
        os.environ["PYTHONPATH"] = str(HERE)
        os.execv(rq, [rq, "worker", "-u", a.url, "--quiet", *cls, a.queue])
    report(produce(a.url, a.queue, a.n, a.mode, a.rate if a.command == "pace" else None))


if __name__ == "__main__":
    main()
