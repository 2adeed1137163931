"""``blackroad schedule`` and ``worker start --scheduler`` through click's CliRunner."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis

from tests.cli.conftest import assert_one_line_error
from tests.cron.conftest import Run, Snapshot
from worker_runtime import Client
from worker_runtime.cron.schedules import ScheduleSpec
from worker_runtime.engine.keys import SCHEDULES
from worker_runtime.worker.runner import WorkerSettings, run_worker

BASE = ("schedule", "add", "s", "--cron", "* * * * *", "-q", "q", "--job", "j")


def test_add_list_and_show_json(run: Run, r: redis.Redis) -> None:
    result = run(
        "schedule",
        "add",
        "nightly",
        "--cron",
        "0 2 * * *",
        "--queue",
        "reports",
        "--job",
        "build",
        "--payload",
        '{"kind": "full"}',
        "--tz",
        "Europe/Berlin",
        "--priority",
        "high",
        "--forbid-concurrent",
        "--starting-deadline",
        "5m",
    )
    assert result.exit_code == 0, result.output
    assert "Schedule nightly" in result.stdout and "Europe/Berlin" in result.stdout
    assert r.hget(SCHEDULES, "nightly") == "reports"
    listed = run("schedule", "list", "-o", "json")
    assert listed.exit_code == 0, listed.output
    [item] = json.loads(listed.stdout)
    assert (item["name"], item["cron"], item["timezone"], item["queue"], item["job_name"]) == (
        "nightly",
        "0 2 * * *",
        "Europe/Berlin",
        "reports",
        "build",
    )
    assert (item["payload"], item["priority"], item["concurrency_policy"]) == (
        {"kind": "full"},
        1,
        "Forbid",
    )
    assert (item["starting_deadline"], item["suspend"], item["fired"]) == (300, False, 0)
    table = run("schedule", "list")
    assert table.exit_code == 0 and "nightly" in table.stdout and "0 2 * * *" in table.stdout


def test_trigger_suspend_resume_remove(run: Run, r: redis.Redis) -> None:
    assert run(*BASE).exit_code == 0
    trig = run("schedule", "trigger", "s", "-o", "json")
    assert trig.exit_code == 0, trig.output
    job_id = json.loads(trig.stdout)["job_id"]
    assert r.hexists("brq:{q}:jobs", job_id)
    sus = run("schedule", "suspend", "s")
    assert sus.exit_code == 0 and "suspended" in sus.stdout
    again = run("schedule", "suspend", "s")
    assert again.exit_code == 0 and "already suspended" in again.stdout
    shown = json.loads(run("schedule", "list", "-o", "json").stdout)
    assert shown[0]["suspend"] is True and shown[0]["fired"] == 1
    assert run("schedule", "resume", "s").exit_code == 0
    assert json.loads(run("schedule", "list", "-o", "json").stdout)[0]["suspend"] is False
    rm = run("schedule", "remove", "s")
    assert rm.exit_code == 0 and "removed" in rm.stdout
    assert run("schedule", "list", "-o", "json").stdout.strip() == "[]"
    assert r.hexists("brq:{q}:jobs", job_id)  # runs outlive their schedule


@pytest.mark.parametrize("verb", ["remove", "trigger", "suspend", "resume"])
def test_unknown_schedule_is_one_line_exit_1(run: Run, verb: str) -> None:
    assert_one_line_error(run("schedule", verb, "ghost"), 1, "'ghost'", "schedule list")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("schedule", "add", "s", "--cron", "* * *", "-q", "q", "--job", "j"), "cron:"),
        (("schedule", "add", "s", "--cron", "0 25 * * *", "-q", "q", "--job", "j"), "cron:"),
        ((*BASE, "--tz", "Mars/Base"), "time zone:"),
        ((*BASE, "--priority", "urgent"), "--priority:"),
        ((*BASE, "--payload", "{nope"), "--payload: not valid JSON"),
        ((*BASE, "--starting-deadline", "soon"), "--starting-deadline:"),
        (
            ("schedule", "add", "bad name", "--cron", "* * * * *", "-q", "q", "--job", "j"),
            "schedule name:",
        ),
        (("schedule", "add", "s", "--cron", "* * * * *", "-q", "a{b}", "--job", "j"), "queue:"),
        (("schedule", "add", "s", "-q", "q", "--job", "j"), "--cron"),
        (("schedule", "remove", "bad name"), "schedule name:"),
    ],
)
def test_bad_input_is_exit_2_and_writes_nothing(
    run: Run, snapshot: Snapshot, args: tuple[str, ...], needle: str
) -> None:
    kept = run("schedule", "add", "keep", "--cron", "@hourly", "-q", "q", "--job", "j")
    assert kept.exit_code == 0
    before = snapshot()
    assert_one_line_error(run(*args), 2, needle)
    assert snapshot() == before


def test_worker_start_has_the_scheduler_flag(run: Run) -> None:
    result = run("worker", "start", "--help")
    assert result.exit_code == 0 and "--scheduler" in result.stdout


async def test_run_worker_starts_and_stops_the_scheduler(redis_url: str, client: Client) -> None:
    await client.add_schedule(ScheduleSpec("s", "* * * * * *", "elsewhere", "j"))
    settings = WorkerSettings(
        redis_url=redis_url,
        queues=["q"],
        handlers="worker_runtime.examples",
        burst=True,
        metrics_port=None,
        scheduler=True,
    )
    # A burst worker exits at once; the scheduler beside it must stop with it, not hang.
    assert await asyncio.wait_for(run_worker(settings), 60) == 0


async def test_a_schedule_without_a_payload_gives_its_runs_an_empty_object(
    run: Run, redis_url: str
) -> None:
    assert run(*BASE).exit_code == 0
    [item] = json.loads(run("schedule", "list", "-o", "json").stdout)
    assert item["payload"] == {}
    async with Client.from_url(redis_url) as client:
        await client.add_schedule(ScheduleSpec("from-code", "* * * * *", "q", "j"))
        fired = await client.trigger_schedule("from-code")
        job = await client.get_job(fired.id)
        assert job is not None and job.payload == {}
