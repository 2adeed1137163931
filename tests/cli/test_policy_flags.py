"""``queue configure`` policy flags, ``queue limiter`` and ``job enqueue --rate-key``."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Run, Snapshot
from worker_runtime import SyncClient


def test_policy_flags_round_trip(run: Run, sync_client: SyncClient) -> None:
    result = run(
        "-o",
        "json",
        "queue",
        "configure",
        "q",
        "--fairness",
        "weighted",
        "--weights",
        "0:4,5:1",
        "--aging-rules",
        "8:5:10m,5:1:5m",
        "--rate-limit",
        "50/s",
        "--key-rate-limit",
        "5/2s",
        "--max-running",
        "7",
        "--key-max-running",
        "2",
    )
    assert result.exit_code == 0, result.output
    cfg = sync_client.config("q")
    assert cfg.fairness == "weighted" and cfg.weights == {0: 4.0, 5: 1.0}
    assert [(r.from_priority, r.to_priority, r.after_ms) for r in cfg.aging_rules] == [
        (8, 5, 600_000),
        (5, 1, 300_000),
    ]
    assert (cfg.rate_limit, cfg.rate_period_ms) == (50, 1000)
    assert (cfg.key_rate_limit, cfg.key_rate_period_ms) == (5, 2000)
    assert (cfg.max_running, cfg.key_max_running) == (7, 2)
    assert json.loads(result.stdout)["max_running"] == 7

    result = run("queue", "configure", "q", "--clear", "rate_limit", "--no-aging")
    assert result.exit_code == 0, result.output
    cfg = sync_client.config("q")
    assert cfg.rate_limit is None and cfg.aging is False and cfg.max_running == 7


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--rate-limit", "fast"], "--rate-limit"),
        (["--rate-limit", "0/s"], "--rate-limit"),
        (["--weights", "0:x"], "--weights"),
        (["--weights", "11:1"], "--weights"),
        (["--aging-rules", "8:5"], "--aging-rules"),
        (["--aging-rules", "0:10:1s"], "higher level"),
        (["--aging-rules", "8:9:1m"], "--aging-rules"),
        (["--aging-rules", "5:5:1m"], "--aging-rules"),
        (["--max-running", "0"], "--max-running"),
        (["--fairness", "random"], "--fairness"),
        (["--clear", "bogus"], "bogus"),
    ],
)
def test_bad_policy_flags_write_nothing(
    run: Run, snapshot: Snapshot, args: list[str], named: str
) -> None:
    run("queue", "configure", "q", "--max-attempts", "4")
    before = snapshot()
    result = run("queue", "configure", "q", *args)
    assert result.exit_code == 2, result.output
    assert named in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert snapshot() == before


def test_shared_limiter_and_rate_key(run: Run, sync_client: SyncClient) -> None:
    assert run("queue", "limiter", "api", "--rate", "100/s").exit_code == 0
    assert run("queue", "configure", "q", "--rate-limiter", "api").exit_code == 0
    assert sync_client.config("q").rate_limiter == "api"
    result = run("-o", "json", "job", "enqueue", "q", "j", "--payload", "{}", "--rate-key", "t1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rate_key"] == "t1"
    bad = run("job", "enqueue", "q", "j", "--payload", "{}", "--rate-key", 'a"b')
    assert bad.exit_code == 2 and "rate_key" in bad.stderr
