"""``job enqueue --depends-on``, and dependencies in ``job info``, ``job list`` and stats."""

from __future__ import annotations

import json

from tests.cli.conftest import Run, Snapshot
from worker_runtime.client import SyncClient
from worker_runtime.engine import writes


def test_enqueue_with_dependencies_and_info(run: Run, sync_client: SyncClient) -> None:
    a = sync_client.enqueue("q", "a", job_id="a").id
    b = sync_client.enqueue("q", "b", job_id="b").id
    args = ["job", "enqueue", "q", "child", "--payload", "{}", "--id", "child"]
    result = run(*args, "--depends-on", a, "--depends-on", b, "--on-dependency-failure", "run")
    assert result.exit_code == 0, result.output
    data = json.loads(run("job", "info", "child", "-o", "json").output)
    assert (data["state"], data["depends_on"], data["waiting_on"]) == ("waiting", [a, b], [a, b])
    assert data["on_dependency_failure"] == "run"
    table = run("job", "info", "child").output
    assert "depends on" in table and "a, b" in table and "if one fails" in table
    assert "dependants" in run("job", "info", "a").output
    listed = json.loads(run("job", "list", "q", "--state", "waiting", "-o", "json").output)
    assert [j["id"] for j in listed] == ["child"]
    assert "waiting" in run("job", "list", "q", "--state", "waiting").output
    stats = json.loads(run("queue", "stats", "q", "-o", "json").output)
    assert stats["waiting"] == 1
    for job_id in (a, b):
        claimed = sync_client.run(writes.claim("q", "w", 10)).jobs
        [job] = [j for j in claimed if j.id == job_id]
        rest = [(j.id, j.token) for j in claimed if j.id != job_id]
        if rest:
            sync_client.run(writes.release("q", rest))
        sync_client.run(writes.complete("q", "w", [(job.id, job.token, "")]))
    data = json.loads(run("job", "info", "child", "-o", "json").output)
    assert (data["state"], data["waiting_on"]) == ("pending", [])


def test_unknown_dependency_is_one_line_error_and_writes_nothing(
    run: Run, snapshot: Snapshot, sync_client: SyncClient
) -> None:
    sync_client.enqueue("q", "a")
    before = snapshot()
    result = run("job", "enqueue", "q", "child", "--payload", "{}", "--depends-on", "nope")
    assert result.exit_code != 0
    assert "depends_on: no job nope in queue 'q'" in result.output
    assert snapshot() == before


def test_dependencies_across_queues(run: Run, sync_client: SyncClient) -> None:
    sync_client.enqueue("extract", "a", job_id="a/1:x")
    sync_client.enqueue("q", "b", job_id="b")
    args = ["job", "enqueue", "q", "child", "--payload", "{}", "--id", "child"]
    result = run(*args, "--depends-on", "b", "--depends-on-in", "extract", "a/1:x")
    assert result.exit_code == 0, result.output
    data = json.loads(run("job", "info", "child", "-q", "q", "-o", "json").output)
    assert (data["state"], data["depends_on"]) == ("waiting", ["b", "extract a/1:x"])
    table = run("job", "info", "child", "-q", "q").output
    assert "b, a/1:x (queue extract)" in table
    parent = run("job", "info", "a/1:x", "-q", "extract").output
    assert "child (queue q)" in parent
    result = run(*args[:-1], "child2", "--depends-on-in", "extract", "nope")
    assert result.exit_code != 0
    assert "depends_on: no job nope in queue 'extract'" in result.output
