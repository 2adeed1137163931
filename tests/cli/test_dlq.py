"""``blackroad dlq``: list, retry, purge dead letters."""

from __future__ import annotations

import json

import redis
import yaml

from tests.cli.conftest import MakeDead, Run, Snapshot, assert_one_line_error
from worker_runtime.client import SyncClient


def test_list_every_queue_and_one_queue(run: Run, make_dead: MakeDead) -> None:
    a = make_dead("alpha", 2)
    b = make_dead("beta", 1, error="TimeoutError: slow")

    every = json.loads(run("-o", "json", "dlq", "list").stdout)
    assert sorted(j["id"] for j in every) == sorted(a + b)
    assert all(j["state"] == "dead" for j in every)

    only_beta = yaml.safe_load(run("-o", "yaml", "dlq", "list", "beta").stdout)
    assert [j["id"] for j in only_beta] == b

    page = json.loads(run("-o", "json", "dlq", "list", "--limit", "2", "--offset", "1").stdout)
    assert len(page) == 2 and {j["id"] for j in page} < set(a + b)

    table = run("dlq", "list")
    assert table.exit_code == 0
    for needle in ("alpha", "beta", "report", "TimeoutError: slow", "died at", *a):
        assert needle in table.stdout


def test_retry_by_id_and_all(run: Run, make_dead: MakeDead, sync_client: SyncClient) -> None:
    ids = make_dead("alpha", 3)

    one = json.loads(run("-o", "json", "dlq", "retry", "alpha", ids[0]).stdout)
    assert one == {"queue": "alpha", "retried": 1, "ids": [ids[0]]}

    rest = run("dlq", "retry", "alpha", "--all")
    assert rest.exit_code == 0 and "2 dead jobs" in rest.stdout
    stats = sync_client.stats("alpha")
    assert (stats.dead, stats.pending) == (0, 3)


def test_retry_refuses_bad_ids_and_retries_none(
    run: Run, make_dead: MakeDead, sync_client: SyncClient, snapshot: Snapshot
) -> None:
    [dead] = make_dead("alpha")
    pending = sync_client.enqueue("alpha", "j", {}).id
    before = snapshot()

    assert_one_line_error(run("dlq", "retry", "alpha", dead, "nope"), 1, "'nope'", "dlq list")
    assert_one_line_error(run("dlq", "retry", "alpha", dead, pending), 1, "pending, not dead")
    assert_one_line_error(run("dlq", "retry", "alpha"), 2, "--all")
    assert_one_line_error(run("dlq", "retry", "alpha", dead, "--all"), 2, "--all")
    assert snapshot() == before


def test_purge_older_than_days(
    run: Run, make_dead: MakeDead, sync_client: SyncClient, r: redis.Redis
) -> None:
    old, young = make_dead("alpha", 2)
    # Age one death by 40 days: the dead set is scored by the time of death.
    r.zadd("brq:{alpha}:dead", {old: int(r.zscore("brq:{alpha}:dead", old) or 0) - 40 * 86_400_000})

    result = run("-o", "json", "dlq", "purge", "alpha", "--days", "30")

    assert json.loads(result.stdout) == {"queue": "alpha", "older_than_days": 30, "purged": 1}
    assert sync_client.get_job(old) is None
    assert sync_client.get_job(young) is not None
    assert_one_line_error(run("dlq", "purge", "alpha"), 2, "--days")
