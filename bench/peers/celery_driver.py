"""Driver for Celery with the Redis broker: ``delay`` one at a time; "bulk" is a ``group``,
which still publishes one message per job; the worker is ``celery worker`` (prefork with one
process per CPU by default; ``--concurrency 50`` runs the threads pool, one process)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import chunks, paced, parse_args, report  # noqa: E402


def main() -> None:
    a = parse_args()
    os.environ["BENCH_URL"] = a.url
    os.environ["BENCH_QUEUE"] = a.queue
    if a.command == "worker":
        celery = str(Path(sys.executable).parent / "celery")
        conc = [] if a.concurrency == "default" else ["-P", "threads", "-c", a.concurrency]
        os.environ["PYTHONPATH"] = str(HERE)
        os.execv(
            celery,
            [celery, "-A", "celery_tasks", "worker", "-Q", a.queue, "--loglevel", "WARNING", *conc],
        )
    from celery import group
    from celery_tasks import noop

    t0 = time.perf_counter()
    if a.command == "pace":
        for _ in paced(a.n, a.rate):
            noop.delay(time.time())
    elif a.mode == "single":
        for _ in range(a.n):
            noop.delay(time.time())
    else:
        for size in chunks(a.n):
            t = time.time()
            group(noop.s(t) for _ in range(size)).apply_async()
    report(time.perf_counter() - t0)


if __name__ == "__main__":
    main()
