"""``blackroad job``: enqueue, info, retry, cancel."""

from __future__ import annotations

import json

import yaml

from tests.cli.conftest import Claim, MakeDead, Run, Snapshot, assert_one_line_error
from worker_runtime.client import SyncClient
from worker_runtime.engine import writes


def test_enqueue_prints_the_job_with_its_id(run: Run, sync_client: SyncClient) -> None:
    result = run(
        "-o",
        "json",
        "job",
        "enqueue",
        "emails",
        "send",
        "--payload",
        '{"to": "a@b"}',
        "--priority",
        "high",
        "--delay",
        "30s",
        "--max-attempts",
        "4",
        "--timeout",
        "90s",
        "--dedupe-key",
        "k1",
    )

    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)
    assert job["outcome"] == "created" and job["state"] == "delayed"
    assert (job["priority"], job["max_attempts"], job["timeout_ms"]) == (1, 4, 90_000)
    assert job["payload"] == {"to": "a@b"} and job["dedupe_key"] == "k1"
    assert job["due_ms"] - job["enqueued_ms"] == 30_000
    stored = sync_client.get_job(job["id"])
    assert stored is not None and stored.payload == {"to": "a@b"}


def test_enqueue_reports_dedupe_and_taken_ids(run: Run) -> None:
    args = ("-o", "json", "job", "enqueue", "q", "j", "--payload", "1")
    first = json.loads(run(*args, "--dedupe-key", "k").stdout)
    again = json.loads(run(*args, "--dedupe-key", "k").stdout)
    assert again["outcome"] == "deduplicated" and again["id"] == first["id"]

    assert json.loads(run(*args, "--id", "job-1").stdout)["outcome"] == "created"
    assert json.loads(run(*args, "--id", "job-1").stdout)["outcome"] == "exists"


def test_enqueue_table_and_payload_from_stdin(run: Run) -> None:
    result = run("job", "enqueue", "q", "j", "--payload", "-", "--id", "x1", input="[1, 2]")
    assert result.exit_code == 0, result.output
    assert "x1" in result.stdout and "pending" in result.stdout and "[1,2]" in result.stdout


def test_enqueue_rejects_bad_input_and_writes_nothing(run: Run, snapshot: Snapshot) -> None:
    before = snapshot()
    enqueue = ("job", "enqueue", "q", "j")
    assert_one_line_error(run(*enqueue, "--payload", "{oops"), 2, "--payload", "JSON")
    assert_one_line_error(run(*enqueue, "--payload", "{}", "--priority", "11"), 2, "priority")
    assert_one_line_error(run(*enqueue, "--payload", "{}", "--priority", "top"), 2, "priority")
    assert_one_line_error(run(*enqueue, "--payload", "{}", "--delay", "soon"), 2, "--delay")
    assert_one_line_error(run(*enqueue, "--payload", "{}", "--timeout", "0s"), 2, "--timeout")
    assert_one_line_error(run(*enqueue, "--payload", "{}", "--max-attempts", "0"), 2, "max")
    assert_one_line_error(run("job", "enqueue", "a b", "j", "--payload", "1"), 2, "queue")
    assert_one_line_error(run(*enqueue), 2, "--payload")
    assert snapshot() == before


def test_enqueue_over_the_payload_limit_writes_nothing(
    run: Run, sync_client: SyncClient, snapshot: Snapshot
) -> None:
    sync_client.configure("q", max_payload_bytes=10)
    before = snapshot()
    result = run("job", "enqueue", "q", "j", "--payload", json.dumps("x" * 100))
    assert_one_line_error(result, 2, "max_payload_bytes")
    assert snapshot() == before


def test_info_shows_state_and_history(
    run: Run, make_dead: MakeDead, sync_client: SyncClient
) -> None:
    [job_id] = make_dead("reports", error="KeyError: 'x'\nTraceback (most recent call last)")

    data = yaml.safe_load(run("-o", "yaml", "job", "info", job_id).stdout)
    assert data["state"] == "dead" and data["attempts"] == 1 and data["reason"] == "Error"
    assert data["history"][0]["worker"] == "worker-1"
    assert data["history"][0]["error"].startswith("KeyError")

    table = run("job", "info", job_id, "--queue", "reports")
    assert table.exit_code == 0
    assert "History" in table.stdout and "KeyError" in table.stdout
    assert "Last error, in full" in table.stdout and "Traceback" in table.stdout
    assert "of queue default" not in table.stdout and "1 (at most 1)" in table.stdout


def test_info_of_unknown_job(run: Run, sync_client: SyncClient, snapshot: Snapshot) -> None:
    sync_client.enqueue("q", "j", 1)
    before = snapshot()
    assert_one_line_error(run("job", "info", "nope"), 1, "'nope'", "not found", "--queue")
    assert_one_line_error(run("job", "info", "nope", "-q", "q"), 1, "in queue 'q'")
    assert_one_line_error(run("job", "retry", "nope"), 1, "not found")
    assert_one_line_error(run("job", "cancel", "nope"), 1, "not found")
    assert snapshot() == before


def test_cancel_then_retry(run: Run, sync_client: SyncClient) -> None:
    job_id = sync_client.enqueue("q", "j", {}).id

    cancelled = json.loads(run("-o", "json", "job", "cancel", job_id).stdout)
    assert cancelled["outcome"] == "cancelled" and cancelled["state"] == "cancelled"

    again = run("job", "cancel", job_id)
    assert again.exit_code == 0 and "already finished" in again.stdout

    retried = json.loads(run("-o", "json", "job", "retry", job_id, "-q", "q").stdout)
    assert retried["outcome"] == "retried" and retried["state"] == "pending"


def test_cancel_running_job_asks_its_worker(
    run: Run, sync_client: SyncClient, claim: Claim
) -> None:
    job_id = sync_client.enqueue("q", "j", {}).id
    assert claim("q") == [job_id]

    data = json.loads(run("-o", "json", "job", "cancel", job_id).stdout)

    assert data["outcome"] == "requested" and data["cancel_requested"] is True


def test_retry_of_a_pending_job_is_refused(
    run: Run, sync_client: SyncClient, snapshot: Snapshot
) -> None:
    job_id = sync_client.enqueue("q", "j", {}).id
    before = snapshot()
    assert_one_line_error(run("job", "retry", job_id), 1, "dead or cancelled")
    assert snapshot() == before


def test_list_shows_a_page_of_one_state(run: Run, sync_client: SyncClient) -> None:
    low = sync_client.enqueue("emails", "digest", {}, priority="low")
    high = sync_client.enqueue("emails", "welcome", {}, priority="high")
    later = sync_client.enqueue("emails", "reminder", {}, delay=60)
    data = json.loads(run("-o", "json", "job", "list", "emails").stdout)
    assert [j["id"] for j in data] == [high.id, low.id]
    page = json.loads(run("-o", "json", "job", "list", "emails", "--offset", "1").stdout)
    assert [j["id"] for j in page] == [low.id]
    delayed = run("job", "list", "emails", "--state", "delayed")
    assert delayed.exit_code == 0 and later.id in delayed.stdout and "due" in delayed.stdout
    bad = run("job", "list", "emails", "--state", "finished")
    assert bad.exit_code == 2 and "--state" in bad.stderr


def test_info_of_a_job_that_has_not_run(run: Run, sync_client: SyncClient) -> None:
    sync_client.configure("emails", max_attempts=4)
    job = sync_client.enqueue("emails", "send", {})
    table = run("job", "info", job.id).stdout
    assert "none yet (at most 4)" in table and "queue default" not in table


def test_wait_prints_the_result_or_fails_with_one_line(
    run: Run, sync_client: SyncClient, make_dead: MakeDead
) -> None:
    pending = sync_client.enqueue("emails", "send", {})
    assert_one_line_error(run("job", "wait", pending.id, "--timeout", "200ms"), 1, "still pending")
    [dead] = make_dead("reports")
    assert_one_line_error(run("job", "wait", dead), 1, "dead")
    done = sync_client.enqueue("other", "send", {})
    [job] = sync_client.run(writes.claim("other", "w", 1)).jobs
    assert job.id == done.id
    sync_client.run(writes.complete("other", "w", [(job.id, job.token, '{"sent": true}')]))
    result = run("-o", "json", "job", "wait", job.id, "--timeout", "5s")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"sent": True}


def test_enqueue_at_a_time_with_its_zone(run: Run, sync_client: SyncClient) -> None:
    at = "2030-12-01T10:00:00+01:00"
    data = json.loads(
        run("-o", "json", "job", "enqueue", "q", "j", "--payload", "{}", "--at", at).stdout
    )
    assert data["state"] == "delayed" and data["due_ms"] == 1_922_346_000_000  # 09:00 UTC
    assert_one_line_error(
        run("job", "enqueue", "q", "j", "--payload", "{}", "--at", "2030-12-01T10:00:00"),
        2,
        "--at",
        "time zone",
    )
    assert_one_line_error(
        run("job", "enqueue", "q", "j", "--payload", "{}", "--at", at, "--delay", "5s"), 2, "one"
    )
