"""``blackroad worker``: start a worker process, and list the live ones."""

from __future__ import annotations

import os
import sys

import click

from worker_runtime.cli.context import AppContext, CliError, InputError, output_option
from worker_runtime.cli.params import Duration
from worker_runtime.engine import operation, reads
from worker_runtime.engine.validation import check_queue_name, parse_queues
from worker_runtime.worker.runner import WorkerSettings, run_process, setup_logging


@click.group("worker")
def worker_group() -> None:
    """Run workers and see which are alive."""


@worker_group.command("start")
@click.option(
    "--queues",
    envvar="QUEUES",
    help="Queues in strict order (a,b,c) or weighted (a:3,b:1); env QUEUES.",
)
@click.option(
    "--concurrency",
    envvar="WORKER_CONCURRENCY",
    type=click.IntRange(1, 100_000),
    default=10,
    show_default=True,
    help="Jobs held at once; env WORKER_CONCURRENCY.",
)
@click.option("--handlers", envvar="HANDLERS", help="Module path(s) or .py file(s); env HANDLERS.")
@click.option("--burst", is_flag=True, help="Exit once the queues hold nothing to do.")
@click.option("--name", envvar="WORKER_NAME", help="Worker name (default host-pid).")
@click.option(
    "--metrics-port",
    envvar="METRICS_PORT",
    type=click.IntRange(0, 65535),
    default=9100,
    show_default=True,
    help="Port of /metrics, /healthz and /readyz; 0 turns them off.",
)
@click.option(
    "--grace",
    type=Duration(),
    default="25s",
    show_default=True,
    help="How long running jobs may finish after SIGTERM.",
)
@click.option(
    "--lease",
    type=Duration(min_ms=100),
    default=None,
    help="Lease (visibility timeout) override; default: the queue's lease.",
)
@click.option("--json-logs", is_flag=True, envvar="JSON_LOGS", help="Log one JSON object a line.")
@click.option(
    "--scheduler",
    is_flag=True,
    envvar="SCHEDULER",
    help="Also fire cron schedules (safe to run in several workers).",
)
@click.option(
    "--pool",
    type=click.Choice(["thread", "process"]),
    default="thread",
    envvar="WORKER_POOL",
    show_default=True,
    help="Where sync handlers run: a thread pool, or a child process per job (killed on timeout).",
)
@click.option(
    "--max-jobs",
    type=click.IntRange(min=1),
    envvar="MAX_JOBS",
    help="Exit 0 after this many jobs, each run to its end (an orchestrator restarts it).",
)
@click.option(
    "--event-loop",
    type=click.Choice(["auto", "asyncio", "uvloop"]),
    default="auto",
    envvar="WORKER_EVENT_LOOP",
    show_default=True,
    help="auto: uvloop where installed (less CPU per job, ~2 MB more memory), else asyncio; "
    "env WORKER_EVENT_LOOP.",
)
@click.pass_obj
def start(
    app: AppContext,
    queues: str | None,
    concurrency: int,
    handlers: str | None,
    burst: bool,
    name: str | None,
    metrics_port: int,
    grace: int,
    lease: int | None,
    json_logs: bool,
    scheduler: bool,
    pool: str,
    max_jobs: int | None,
    event_loop: str,
) -> None:
    """Run a worker until SIGTERM (or, with --burst, until there is nothing to do)."""
    try:
        names, weights = parse_queues(queues or "")
    except ValueError as exc:
        raise InputError(f"--{exc}") from None
    if not handlers:
        raise InputError("--handlers: give the module that registers your @handler functions")
    settings = WorkerSettings(
        redis_url=app.redis_url,
        queues=names,
        queue_weights=weights,
        handlers=handlers,
        concurrency=concurrency,
        name=name,
        burst=burst,
        metrics_port=metrics_port or None,
        grace_s=grace / 1000,
        lease_ms=lease if lease is not None else -1,
        json_logs=json_logs,
        scheduler=scheduler,
        processes=pool == "process",
        max_jobs=max_jobs,
        event_loop=event_loop,
    )
    setup_logging(json_logs)
    sys.path.insert(0, os.getcwd())
    code = run_process(settings)
    sys.exit(code)


@worker_group.command("status")
@output_option
@click.pass_obj
def status(app: AppContext) -> None:
    """List live workers (those that sent a heartbeat in the last minute)."""
    from worker_runtime.cli.output import age, emit, grid  # rich: only when printing

    client = app.client
    names = client.run(reads.live_workers())
    workers = client.run(reads.worker_descriptions(names)) if names else []
    now_ms = int(client.run(operation.Op(lambda r: int(r[0][0]) * 1000, commands=[("TIME",)])))
    emit(
        app,
        workers,
        lambda: grid(
            "Workers",
            ["name", "host", "queues", "concurrency", "in flight", "last heartbeat"],
            [
                [
                    str(w["name"]),
                    str(w["host"]),
                    ",".join(w["queues"]),
                    str(w["concurrency"]),
                    str(w["in_flight"]),
                    age(now_ms - int(w["heartbeat_ms"])) + " ago",
                ]
                for w in workers
            ],
        ),
    )


@worker_group.command("scale")
@click.argument("queue")
@click.argument("replicas", type=click.IntRange(min=0))
@click.option("--pool", help="The WorkerPool (NAME or NAMESPACE/NAME) when several serve QUEUE.")
@click.option("--namespace", "-n", help="Only look in this namespace (default: all).")
@output_option
@click.pass_obj
def scale(
    app: AppContext, queue: str, replicas: int, pool: str | None, namespace: str | None
) -> None:
    """Set the replicas of the WorkerPool serving QUEUE, as 'kubectl scale wp' does
    (kubeconfig from KUBECONFIG, or in-cluster). With autoscaling on, it is a floor."""
    from worker_runtime.cli.output import emit

    check_queue_name(queue)
    try:
        from queue_operator.scale import ScaleError
        from queue_operator.scale import scale as scale_pool
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("queue_operator."):
            raise  # a bug, not a missing extra
        raise CliError(
            f"worker scale needs the operator extra ({exc.name} is missing); "
            "run: pip install 'blackroad-queues[operator]'"
        ) from exc
    try:
        done = scale_pool(queue, replicas, pool, namespace)
    except ScaleError as exc:
        raise CliError(str(exc)) from None
    data = {
        "namespace": done.namespace,
        "pool": done.pool,
        "replicas": done.replicas,
        "previous": done.previous,
    }
    was = "unset" if done.previous is None else done.previous
    emit(
        app, data, lambda: f"WorkerPool {done.namespace}/{done.pool}: replicas {was} -> {replicas}"
    )
