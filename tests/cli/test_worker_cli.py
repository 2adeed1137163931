"""``blackroad worker status``, argument errors of ``worker start`` and its event loop."""

from __future__ import annotations

import json
import socket
import sys

import pytest

from tests.cli.conftest import Run
from worker_runtime import JobSpec, SyncClient
from worker_runtime.engine import writes


def test_status_lists_live_workers_and_forgets_stopped_ones(
    run: Run, sync_client: SyncClient
) -> None:
    desc = {
        "name": "w1",
        "host": "h",
        "pid": 1,
        "queues": ["a", "b"],
        "concurrency": 8,
        "in_flight": 3,
        "heartbeat_ms": 0,
    }
    sync_client.run(writes.worker_beat("w1", desc, 60_000))
    listed = json.loads(run("-o", "json", "worker", "status").stdout)
    assert [(w["name"], w["queues"], w["in_flight"]) for w in listed] == [("w1", ["a", "b"], 3)]
    assert json.loads(run("worker", "status", "-o", "json").stdout) == listed
    table = run("worker", "status").stdout
    assert "w1" in table and "a,b" in table
    sync_client.run(writes.worker_beat("w1", None, 60_000))  # a worker that stops says so
    assert json.loads(run("-o", "json", "worker", "status").stdout) == []


def test_start_refuses_bad_arguments(run: Run) -> None:
    for args, needle in (
        (["--queues", "", "--handlers", "x"], "--queues"),
        (["--queues", "a:1,b", "--handlers", "x"], "--queues"),
        (["--queues", "a"], "--handlers"),
        (["--queues", "a", "--handlers", "no_such_module_xyz"], "--handlers"),
    ):
        result = run("worker", "start", "--metrics-port", "0", *args)
        assert result.exit_code == 2, result.output
        assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_start_with_its_metrics_port_in_use_is_one_line_naming_the_flag(run: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run(
            "worker",
            "start",
            "--queues",
            "a",
            "--handlers",
            "worker_runtime.examples",
            "--metrics-port",
            port,
            "--burst",
        )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--metrics-port" in lines[0] and "in use" in lines[0]
    assert "--metrics-port 0" in lines[0]


def test_start_with_max_jobs_exits_0_after_that_many(run: Run, sync_client: SyncClient) -> None:
    sync_client.enqueue_many([JobSpec("a", "noop")] * 5)
    args = ("--queues", "a", "--handlers", "worker_runtime.examples", "--metrics-port", "0")
    result = run("worker", "start", *args, "--max-jobs", "3")
    assert result.exit_code == 0, result.output
    stats = sync_client.stats("a")
    assert (stats.completed, stats.pending, stats.running) == (3, 2, 0)
    assert run("worker", "start", *args, "--max-jobs", "0").exit_code == 2


def _loop_named(log: str) -> str:
    """The event loop the worker's start-up line names ("worker W serving ... on LOOP")."""
    (line,) = [x for x in log.splitlines() if " serving a with concurrency " in x]
    return line.rsplit(" on ", 1)[1]


@pytest.mark.parametrize(
    ("chosen", "runs_on"),
    [
        ((), "uvloop"),
        (("--event-loop", "auto"), "uvloop"),
        (("--event-loop", "uvloop"), "uvloop"),
        (("--event-loop", "asyncio"), "asyncio"),
    ],
)
def test_start_runs_the_jobs_on_the_event_loop_chosen(
    run: Run, sync_client: SyncClient, chosen: tuple[str, ...], runs_on: str
) -> None:
    sync_client.enqueue_many([JobSpec("a", "noop")] * 3)
    args = ("--queues", "a", "--handlers", "worker_runtime.examples", "--metrics-port", "0")
    result = run("worker", "start", *args, "--burst", *chosen)
    assert result.exit_code == 0, result.output
    stats = sync_client.stats("a")
    assert (stats.completed, stats.pending, stats.running) == (3, 0, 0)
    # The start-up line says which loop runs.
    assert _loop_named(result.stderr) == runs_on
    assert run("worker", "start", *args, "--event-loop", "trio").exit_code == 2


def test_without_uvloop_auto_runs_on_asyncio_and_uvloop_is_refused(
    run: Run, sync_client: SyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what an install without it sees
    sync_client.enqueue_many([JobSpec("a", "noop")] * 3)
    args = ("--queues", "a", "--handlers", "worker_runtime.examples", "--metrics-port", "0")
    result = run("worker", "start", *args, "--burst")
    assert result.exit_code == 0, result.output
    assert _loop_named(result.stderr) == "asyncio" and sync_client.stats("a").completed == 3
    refused = run("worker", "start", *args, "--burst", "--event-loop", "uvloop")
    assert refused.exit_code == 2
    refusal = "error: --event-loop uvloop: uvloop cannot be imported"
    assert refused.stderr.strip().startswith(refusal)
