"""The durable mode: an enqueue returns once a replica holds the job (Redis WAIT), and
says so in one line when no replica confirmed it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from tests.redis_server import RedisServer
from worker_runtime.cli import cli
from worker_runtime.client import Client
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import NotReplicatedError


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[tuple[RedisServer, redis.Redis]]:
    """A master and a connection to its one replica."""
    master, replica = RedisServer(tmp_path / "m"), RedisServer(tmp_path / "r")
    for server in (master, replica):
        server.workdir.mkdir()
        server.start()
    conn = redis.Redis(port=replica.port, decode_responses=True)
    try:
        conn.replicaof("127.0.0.1", str(master.port))
        deadline = 200
        while conn.info("replication").get("master_link_status") != "up" and deadline:
            deadline -= 1
            time.sleep(0.05)
        yield master, conn
    finally:
        conn.close()
        replica.stop()
        master.stop()


async def test_a_durable_enqueue_is_on_the_replica_when_it_returns(
    replicated: tuple[RedisServer, redis.Redis],
) -> None:
    master, replica = replicated
    async with Client.from_url(master.url, durable=True) as client:
        for n in range(50):
            done = await client.enqueue("d", "job", {"n": n})
            # No waiting here: WAIT returned only once the replica had it.
            assert replica.hexists(QueueKeys.of("d").jobs, done.id)
        many = await client.enqueue_many([])
        assert many == []


async def test_without_a_replica_it_says_not_replicated(redis_url: str) -> None:
    async with Client.from_url(redis_url, durable=True, durable_timeout=0.05) as client:
        with pytest.raises(NotReplicatedError, match="0 of 1 replicas"):
            await client.enqueue("d", "job", job_id="same")
        # Written on the master all the same: sending it again is idempotent.
        async with Client.from_url(redis_url) as plain:
            assert (await plain.enqueue("d", "job", job_id="same")).outcome == "exists"
    result = CliRunner().invoke(
        cli,
        ["job", "enqueue", "d", "job", "--payload", "{}", "--durable"],
        env={"REDIS_URL": redis_url},
    )
    assert result.exit_code == 1
    assert "replicas confirmed it" in result.output
    assert len(result.output.strip().splitlines()) == 1
