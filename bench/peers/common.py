"""What every Python driver shares, importable without any third-party package.

Protocol (argv): ``enqueue --mode single|bulk``, ``pace`` (``--rate`` jobs/s) and ``worker``
(``--concurrency N`` or ``default``), each with ``--url``, ``--queue`` and ``--n``. ``enqueue``
and ``pace`` print one JSON line ``{"seconds": ...}`` timed around the enqueue calls only.
Every job's payload carries ``t``, the producer's ``time.time()`` taken just before its enqueue
call; every handler calls ``stamp(t)``, which appends one fixed-width line
``<t> <start> <end>`` to the file named by ``BENCH_TIMES`` (one O_APPEND write per job).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator

#: Bytes per stamp line: three 17-character fields, two spaces and a newline.
LINE_BYTES = 54
#: Jobs per call of a bulk API.
BULK_CHUNK = 1000

_fd = -1


def stamp(t: float, start: float | None = None) -> None:
    """Records one job: enqueue time ``t``, handler start (now, or ``start``) and end (now)."""
    global _fd
    began = time.time() if start is None else start
    if _fd < 0:
        _fd = os.open(os.environ["BENCH_TIMES"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_fd, f"{t:17.6f} {began:17.6f} {time.time():17.6f}\n".encode())


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["enqueue", "pace", "worker"])
    p.add_argument("--url", required=True)
    p.add_argument("--queue", default="bench")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--mode", choices=["single", "bulk"], default="single")
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--concurrency", default="default")
    return p.parse_args()


def chunks(n: int, size: int = BULK_CHUNK) -> Iterator[int]:
    """Sizes of the successive bulk calls for ``n`` jobs."""
    for start in range(0, n, size):
        yield min(size, n - start)


def paced(n: int, rate: float) -> Iterator[int]:
    """Yields 0..n-1, sleeping so that item i is released at i / rate seconds."""
    t0 = time.perf_counter()
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield i


def report(seconds: float) -> None:
    print(json.dumps({"seconds": seconds}), flush=True)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


async def apaced(n: int, rate: float) -> AsyncIterator[int]:
    """``paced`` for asyncio producers."""
    t0 = time.perf_counter()
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        yield i
