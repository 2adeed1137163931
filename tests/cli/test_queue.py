"""``blackroad queue``: list, stats, configure, pause, resume, purge."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.cli.conftest import Run, Snapshot, assert_one_line_error
from worker_runtime.client import SyncClient
from worker_runtime.engine import writes


def test_list_shows_every_queue_with_its_stats(run: Run, sync_client: SyncClient) -> None:
    sync_client.enqueue("emails", "send", {"to": "a"})
    sync_client.enqueue("emails", "send", {"to": "b"}, delay=60)
    sync_client.enqueue("reports", "build", None)

    data = json.loads(run("queue", "list", "-o", "json").stdout)

    assert [q["queue"] for q in data] == ["emails", "reports"]
    assert data[0]["pending"] == 1 and data[0]["delayed"] == 1 and data[0]["paused"] is False
    assert data[0]["oldest_pending_age_ms"] >= 0
    table = run("queue", "list")
    assert table.exit_code == 0
    assert "emails" in table.stdout and "reports" in table.stdout and "oldest" in table.stdout


def test_list_with_no_queues(run: Run) -> None:
    assert json.loads(run("-o", "json", "queue", "list").stdout) == []


def test_stats_in_yaml(run: Run, sync_client: SyncClient) -> None:
    sync_client.enqueue("emails", "send", {})

    result = run("-o", "yaml", "queue", "stats", "emails")

    assert result.exit_code == 0
    stats = yaml.safe_load(result.stdout)
    assert stats["queue"] == "emails" and stats["pending"] == 1 and stats["dead"] == 0
    assert "pending" in run("queue", "stats", "emails").stdout


def test_stats_of_unknown_queue_is_an_error(run: Run) -> None:
    assert_one_line_error(run("queue", "stats", "nope"), 1, "no such queue", "queue list")


def test_configure_parses_durations_and_prints_the_config(
    run: Run, sync_client: SyncClient
) -> None:
    result = run(
        "queue",
        "configure",
        "emails",
        "--max-attempts",
        "5",
        "--backoff-base",
        "2s",
        "--backoff-max",
        "1h30m",
        "--timeout",
        "90s",
        "--lease",
        "45s",
        "--result-ttl",
        "2h",
        "--keep-completed",
        "100",
        "--dead-ttl",
        "7d",
        "--keep-dead",
        "50",
        "--max-payload-bytes",
        "2048",
        "-o",
        "json",
    )

    assert result.exit_code == 0, result.output
    expected = {
        "max_attempts": 5,
        "backoff_base_ms": 2000,
        "backoff_max_ms": 5_400_000,
        "timeout_ms": 90_000,
        "lease_ms": 45_000,
        "result_ttl_ms": 7_200_000,
        "keep_completed": 100,
        "dead_ttl_ms": 7 * 86_400_000,
        "keep_dead": 50,
        "max_payload_bytes": 2048,
        "paused": False,
    }
    printed = json.loads(result.stdout)
    assert {k: printed[k] for k in expected} == expected
    stored = sync_client.config("emails").model_dump()
    assert {k: stored[k] for k in expected} == expected
    assert "emails" in sync_client.queues()


def test_configure_without_options_prints_without_writing(run: Run, snapshot: Snapshot) -> None:
    before = snapshot()
    result = run("queue", "configure", "emails")
    assert result.exit_code == 0 and "lease_ms" in result.stdout
    assert snapshot() == before


def test_configure_rejects_bad_values_and_writes_nothing(run: Run, snapshot: Snapshot) -> None:
    before = snapshot()
    assert_one_line_error(run("queue", "configure", "q", "--lease", "2x"), 2, "--lease", "2x")
    assert_one_line_error(run("queue", "configure", "q", "--lease", "500ms"), 2, "--lease")
    assert_one_line_error(run("queue", "configure", "q", "--max-attempts", "0"), 2, "--max-att")
    assert_one_line_error(run("queue", "configure", "bad{name", "--lease", "30s"), 2, "queue")
    assert snapshot() == before


def test_pause_and_resume(run: Run, sync_client: SyncClient) -> None:
    sync_client.enqueue("emails", "send", {})

    paused = run("queue", "pause", "emails", "-o", "json")
    assert paused.exit_code == 0
    assert json.loads(paused.stdout) == {"queue": "emails", "paused": True}
    assert sync_client.stats("emails").paused is True

    resumed = run("queue", "resume", "emails")
    assert resumed.exit_code == 0 and "resumed" in resumed.stdout
    assert sync_client.stats("emails").paused is False


def test_purge_needs_yes_and_then_purges_the_chosen_states(
    run: Run, sync_client: SyncClient, snapshot: Snapshot
) -> None:
    sync_client.enqueue("emails", "send", {"n": 1})
    sync_client.enqueue("emails", "send", {"n": 2}, delay=60)
    before = snapshot()

    assert_one_line_error(run("queue", "purge", "emails"), 2, "--yes")
    assert snapshot() == before

    result = run("queue", "purge", "emails", "--state", "delayed", "--yes", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"queue": "emails", "states": ["delayed"], "purged": 1}
    stats = sync_client.stats("emails")
    assert (stats.pending, stats.delayed) == (1, 0)

    everything = run("queue", "purge", "emails", "--yes")
    assert everything.exit_code == 0 and "purged 1 job (" in everything.stdout
    assert sync_client.stats("emails").pending == 0


@pytest.mark.parametrize(
    "args",
    [
        ["queue", "pause", "nope"],
        ["queue", "resume", "nope"],
        ["queue", "purge", "nope", "--yes"],
        ["queue", "delete", "nope", "--yes"],
        ["dlq", "list", "nope"],
        ["dlq", "retry", "nope", "--all"],
        ["dlq", "purge", "nope", "--days", "1"],
        ["job", "list", "nope"],
    ],
)
def test_commands_on_an_unknown_queue_fail_and_write_nothing(
    run: Run, snapshot: Snapshot, sync_client: SyncClient, args: list[str]
) -> None:
    sync_client.enqueue("emails", "send", {})
    before = snapshot()
    assert_one_line_error(run(*args), 1, "no such queue", "queue list")
    assert snapshot() == before


def test_delete_needs_yes_then_removes_the_queue(
    run: Run, snapshot: Snapshot, sync_client: SyncClient
) -> None:
    sync_client.enqueue("emails", "send", {})
    sync_client.enqueue("reports", "build", {})
    before = snapshot()
    assert_one_line_error(run("queue", "delete", "emails"), 2, "--yes")
    assert snapshot() == before
    result = run("-o", "json", "queue", "delete", "emails", "--yes")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"queue": "emails", "deleted_jobs": 1}
    assert [q["queue"] for q in json.loads(run("-o", "json", "queue", "list").stdout)] == [
        "reports"
    ]


def test_delete_is_refused_while_a_worker_claims_from_the_queue(
    run: Run, sync_client: SyncClient
) -> None:
    sync_client.enqueue("emails", "send", {})
    sync_client.run(writes.worker_beat("w1", {"name": "w1", "queues": ["emails"]}, 60_000))
    assert_one_line_error(run("queue", "delete", "emails", "--yes"), 1, "w1", "--force")
    assert run("queue", "delete", "emails", "--yes", "--force").exit_code == 0
