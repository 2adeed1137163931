"""Runs a Worker as a process: signals, logging, the health and metrics server."""

from __future__ import annotations

import asyncio
import errno
import gc
import importlib
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass

from worker_runtime.engine.connection import connect_async
from worker_runtime.engine.store import AsyncStore
from worker_runtime.errors import InvalidArgumentError
from worker_runtime.handlers import load_handlers
from worker_runtime.worker.loop import Worker
from worker_runtime.worker.metrics import NoMetrics, WorkerMetrics
from worker_runtime.worker.supervise import supervise

log = logging.getLogger("blackroad.worker")


@dataclass(frozen=True)
class WorkerSettings:
    redis_url: str
    queues: list[str]
    handlers: str
    concurrency: int = 10
    name: str | None = None
    burst: bool = False
    metrics_port: int | None = 9100
    grace_s: float = 25.0
    lease_ms: int = -1
    json_logs: bool = False
    queue_weights: dict[str, float] | None = None
    processes: bool = False
    #: Exit 0 after this many jobs, each run to its end (None: no limit).
    max_jobs: int | None = None
    #: Also run a cron scheduler (any number may run; each tick fires once).
    scheduler: bool = False
    #: "auto" (uvloop where it is installed, else asyncio), "asyncio" or "uvloop".
    event_loop: str = "auto"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "ts": round(record.created, 3),
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": record.getMessage(),
            }
        )


def setup_logging(json_logs: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


def resolve_event_loop(requested: str) -> str:
    """The event loop a worker runs on: "asyncio" when asked for, else uvloop when it is
    installed; "auto" falls back to asyncio without it, "uvloop" refuses to."""
    if requested == "asyncio":
        return "asyncio"
    try:  # imported, not only found: a broken install falls back too
        importlib.import_module("uvloop")
    except ImportError as exc:
        if requested == "uvloop":
            raise InvalidArgumentError(
                f"--event-loop uvloop: uvloop cannot be imported ({exc}); pip install uvloop",
                field="event_loop",
            ) from None
        return "asyncio"
    return "uvloop"


def run_process(settings: WorkerSettings) -> int:
    """Runs the worker on the event loop the settings name; returns its exit code.

    uvloop (libuv's event loop in C) is the default where installed (a base dependency on
    Linux and macOS): it costs less worker CPU per job, for ~2 MB more memory, which the
    worker can afford since it stopped importing pydantic (docs/performance.md)."""
    loop = resolve_event_loop(settings.event_loop)
    if loop == "asyncio":
        return asyncio.run(run_worker(settings))
    uvloop = importlib.import_module("uvloop")
    return int(uvloop.run(run_worker(settings)))


async def run_worker(settings: WorkerSettings) -> int:
    handlers = load_handlers(settings.handlers)
    # The store alone, not a Client: the client's management API (and pydantic, which
    # validates what it writes) would cost a worker ~8 MB and ~30 ms of start-up.
    store = AsyncStore(connect_async(settings.redis_url))
    worker = Worker(
        store,
        settings.queues,
        handlers,
        concurrency=settings.concurrency,
        name=settings.name,
        grace_s=settings.grace_s,
        burst=settings.burst,
        lease_ms=settings.lease_ms,
        metrics=NoMetrics() if settings.metrics_port is None else WorkerMetrics(),
        queue_weights=settings.queue_weights,
        processes=settings.processes,
        max_jobs=settings.max_jobs,
    )
    loop = asyncio.get_running_loop()
    signals_seen = 0

    def on_signal(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            # Second signal: leave at once; leases expire and the jobs are recovered.
            log.warning("second signal: exiting now")
            os._exit(128 + signum)
        log.info("signal %d: finishing running jobs (grace %.0fs)", signum, settings.grace_s)
        worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    runner = None
    if isinstance(worker.metrics, WorkerMetrics) and settings.metrics_port is not None:
        from worker_runtime.worker.health import start_health_server  # prometheus_client

        try:
            runner = await start_health_server(
                settings.metrics_port,
                worker.metrics.registry,
                lambda: worker.ready and not worker.stopping.is_set(),
            )
        except OSError as exc:
            await store.redis.aclose()
            if exc.errno != errno.EADDRINUSE:
                raise
            raise InvalidArgumentError(
                f"--metrics-port: port {settings.metrics_port} is in use (another worker on this "
                "host?); pick a free one, or --metrics-port 0 to turn the server off",
                field="metrics_port",
            ) from None
    # Everything loaded so far (modules, handlers, the worker) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it (>100 ms each on a
    # loaded machine; the largest single source of our p99 latency at 100 jobs/s). Collected
    # first, so that no garbage of the start-up is frozen with it.
    gc.collect()
    gc.freeze()
    started = time.monotonic()
    log.info(
        "worker %s serving %s with concurrency %d and handlers %s on %s",
        worker.name,
        ",".join(settings.queues),
        settings.concurrency,
        ",".join(sorted(handlers)),
        type(loop).__module__.split(".")[0],  # asyncio or uvloop
    )
    stop_scheduler = asyncio.Event()
    scheduler = None
    if settings.scheduler:
        from worker_runtime.cron.scheduler import run_scheduler  # croniter: only when asked for

        scheduler = asyncio.create_task(
            supervise(
                "scheduler",
                lambda: run_scheduler(store, stop_scheduler),
                stop_scheduler.is_set,
            )
        )
    try:
        return await worker.run()
    finally:
        if scheduler is not None:
            stop_scheduler.set()
            await scheduler
        log.info("worker %s stopped after %.1fs", worker.name, time.monotonic() - started)
        if runner is not None:
            await runner.cleanup()
        await store.redis.aclose()
