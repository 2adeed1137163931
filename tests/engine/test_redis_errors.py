"""Redis replies that mean "cannot serve this now" become typed errors, everything else
stays what it was; producers and the CLI see them with Redis's own text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.cli.conftest import assert_one_line_error
from tests.redis_server import RedisServer
from worker_runtime import JobSpec, SyncClient
from worker_runtime.cli import cli
from worker_runtime.engine.redis_errors import REDIS_DOWN, unavailable
from worker_runtime.errors import QueueError, RedisUnavailableError, StorageFullError

OOM_TEXT = "command not allowed when used memory > 'maxmemory'."
MISCONF = "MISCONF Errors writing to the AOF file: No space left on device"


@pytest.mark.parametrize(
    ("exc", "kind", "code", "text"),
    [
        (OutOfMemoryError(OOM_TEXT), StorageFullError, "OOM", f"OOM {OOM_TEXT}"),
        (ResponseError(MISCONF), StorageFullError, "MISCONF", MISCONF),
        # Inside a script (Redis 7): the code stays first, the script's place follows.
        (
            ResponseError(f"{MISCONF} script: 095b, on @user_script:120."),
            StorageFullError,
            "MISCONF",
            f"{MISCONF} script: 095b, on @user_script:120.",
        ),
        # In a pipeline, redis-py wraps the reply with the command and its arguments.
        (
            ResponseError(
                "Command # 1 (EVALSHA 095b 8 brq:{q1}:jobs brq:{q1}:pending...) of pipeline "
                f"caused error: ('{MISCONF}',)"
            ),
            StorageFullError,
            "MISCONF",
            MISCONF,
        ),
        (
            OutOfMemoryError(f"Command # 1 (SET a 1) of pipeline caused error: {OOM_TEXT}"),
            StorageFullError,
            "OOM",
            f"OOM {OOM_TEXT}",
        ),
        # Before Redis 7 an error inside a script came wrapped in ERR (which redis-py strips).
        (
            ResponseError(
                "Error running script (call to f_095b): @user_script:12: @user_script: 12: "
                f"-OOM {OOM_TEXT}"
            ),
            StorageFullError,
            "OOM",
            f"OOM {OOM_TEXT}",
        ),
        (
            ReadOnlyError("You can't write against a read only replica."),
            RedisUnavailableError,
            "READONLY",
            "READONLY You can't write against a read only replica.",
        ),
        (
            BusyLoadingError("Redis is loading the dataset in memory"),
            RedisUnavailableError,
            "LOADING",
            "LOADING Redis is loading the dataset in memory",
        ),
        (
            ResponseError("BUSY Redis is busy running a script."),
            RedisUnavailableError,
            "BUSY",
            "BUSY Redis is busy running a script.",
        ),
        (
            MasterDownError("Link with MASTER is down"),
            RedisUnavailableError,
            "MASTERDOWN",
            "MASTERDOWN Link with MASTER is down",
        ),
        (
            ClusterDownError("The cluster is down"),
            RedisUnavailableError,
            "CLUSTERDOWN",
            "CLUSTERDOWN The cluster is down",
        ),
        (
            ResponseError("CLUSTERDOWN Hash slot not served"),
            RedisUnavailableError,
            "CLUSTERDOWN",
            "CLUSTERDOWN Hash slot not served",
        ),
        (
            TryAgainError("Multiple keys"),
            RedisUnavailableError,
            "TRYAGAIN",
            "TRYAGAIN Multiple keys",
        ),
        (
            ResponseError("NOREPLICAS Not enough good replicas to write."),
            RedisUnavailableError,
            "NOREPLICAS",
            "NOREPLICAS Not enough good replicas to write.",
        ),
        (
            RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused."),
            RedisUnavailableError,
            None,
            "Error 111 connecting to 127.0.0.1:1. Connection refused.",
        ),
        (RedisTimeoutError("Timeout reading from socket"), RedisUnavailableError, None, None),
        (ConnectionResetError(104, "reset"), RedisUnavailableError, None, None),
        # The cluster client, when no node it knows answers (a partition).
        (
            RedisClusterException(
                "Redis Cluster cannot be connected. Please provide at least one reachable "
                "node: Error 111 connecting to 10.0.0.2:7001. Connect call failed."
            ),
            RedisUnavailableError,
            None,
            None,
        ),
        (SlotNotCoveredError("Slot 3216 is not covered"), RedisUnavailableError, None, None),
    ],
)
def test_replies_that_mean_cannot_serve_now_are_typed(
    exc: BaseException, kind: type[RedisUnavailableError], code: str | None, text: str | None
) -> None:
    typed = unavailable(exc)
    assert type(typed) is kind
    assert isinstance(typed, QueueError)
    assert typed.code == code
    if text is not None:
        assert str(typed) == text
    assert isinstance(typed, REDIS_DOWN)  # what the worker's loops catch


@pytest.mark.parametrize(
    "exc",
    [
        ResponseError("wrong number of arguments for 'get' command"),
        ResponseError("user_script:3: attempt to compare nil with number"),
        ResponseError("NOSCRIPT No matching script."),
        ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ResponseError("Command # 2 (GET x) of pipeline caused error: ('WRONGTYPE Operation',)"),
        AuthenticationError("invalid username-password pair"),
        RedisClusterException("Cluster mode is not enabled on this node"),
        ValueError("not Redis at all"),
    ],
)
def test_bugs_and_bad_credentials_are_not_outages(exc: BaseException) -> None:
    assert unavailable(exc) is None


def _contents(url: str) -> dict[bytes, bytes | None]:
    """Every key with its serialized value (DEBUG DIGEST is disabled by default)."""
    raw = redis.Redis.from_url(url)
    try:
        return {key: raw.dump(key) for key in raw.scan_iter()}
    finally:
        raw.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_producer_at_maxmemory_gets_storage_full_and_nothing_is_written(
    own_redis: RedisServer,
) -> None:
    r = redis.Redis.from_url(own_redis.url, decode_responses=True)
    c = SyncClient(own_redis.url)
    try:
        c.enqueue("q", "work", {"n": 0})
        r.config_set("maxmemory", "1")
        before = _contents(own_redis.url)
        with pytest.raises(StorageFullError, match=r"^OOM command not allowed") as caught:
            c.enqueue("q", "work", {"n": 1})
        assert caught.value.code == "OOM"
        # Two queues: two script calls in one pipeline.
        with pytest.raises(StorageFullError):
            c.enqueue_many([JobSpec("q", "work", 2), JobSpec("other", "work", 3)])
        assert _contents(own_redis.url) == before
        result = CliRunner().invoke(
            cli, ["--redis-url", own_redis.url, "job", "enqueue", "q", "w", "--payload", "{}"]
        )
        assert_one_line_error(result, 1, "refuses writes", "OOM command not allowed")
        r.config_set("maxmemory", "0")
        c.enqueue("q", "work", {"n": 4})
        assert c.stats("q").pending == 2
    finally:
        c.close()
        r.close()


def test_a_producer_pointed_at_a_replica_gets_redis_unavailable(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    (tmp_path / "replica").mkdir()
    replica = RedisServer(tmp_path / "replica")
    replica.start()
    r = redis.Redis.from_url(replica.url, decode_responses=True)
    c = SyncClient(replica.url)
    try:
        r.replicaof("127.0.0.1", own_redis.port)
        deadline = time.monotonic() + 10
        while r.info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the replica did not sync"
            time.sleep(0.05)
        with pytest.raises(RedisUnavailableError, match=r"^READONLY ") as caught:
            c.enqueue("q", "work", {"n": 1})
        assert not isinstance(caught.value, StorageFullError)
        assert caught.value.code == "READONLY"
        result = CliRunner().invoke(
            cli, ["--redis-url", replica.url, "job", "enqueue", "q", "w", "--payload", "{}"]
        )
        assert_one_line_error(result, 1, "cannot serve this now", "READONLY")
    finally:
        c.close()
        r.close()
        replica.stop()
