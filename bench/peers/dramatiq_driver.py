"""Driver for Dramatiq with the Redis broker: ``send`` one at a time, no bulk API; the worker
is ``dramatiq`` with one worker process (its default is one per CPU) and 8 threads by default."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import paced, parse_args, report  # noqa: E402


def main() -> None:
    a = parse_args()
    os.environ["BENCH_URL"] = a.url
    os.environ["BENCH_QUEUE"] = a.queue
    if a.command == "worker":
        dramatiq = str(Path(sys.executable).parent / "dramatiq")
        conc = [] if a.concurrency == "default" else ["--threads", a.concurrency]
        os.environ["PYTHONPATH"] = str(HERE)
        os.execv(dramatiq, [dramatiq, "dramatiq_tasks", "--processes", "1", *conc])
    if a.mode == "bulk":
        sys.exit("Dramatiq has no bulk enqueue API")
    from dramatiq_tasks import noop

    t0 = time.perf_counter()
    if a.command == "pace":
        for _ in paced(a.n, a.rate):
            noop.send(time.time())
    else:
        for _ in range(a.n):
            noop.send(time.time())
    report(time.perf_counter() - t0)


if __name__ == "__main__":
    main()
