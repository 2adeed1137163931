"""``blackroad worker status`` and argument errors of ``worker start``."""

from __future__ import annotations

import json

from tests.cli.conftest import Run
from worker_runtime import SyncClient
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
