"""A three-master Redis Cluster shared by the cluster tests of one session, emptied before
each test, and the fixtures that point a test at it instead of the standalone server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from tests.topology.rediscluster import RedisCluster
from worker_runtime.client import Client
from worker_runtime.engine.connection import connect_sync


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def replicated_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    """Three masters with a replica each, for one test (failover tests kill a master)."""
    cluster = RedisCluster(tmp_path, masters=3, replicas=1)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(redis_cluster: RedisCluster) -> str:
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture
def cluster_r(cluster_url: str) -> Iterator[redis.Redis]:
    conn = connect_sync(cluster_url)
    # The invariant checks read one queue's keys (one slot) with commands that RedisCluster
    # routes like any other; they take the standalone type only by annotation.
    yield cast(redis.Redis, conn)
    conn.close()


@pytest.fixture
async def cluster_client(cluster_url: str) -> AsyncIterator[Client]:
    c = Client.from_url(cluster_url)
    yield c
    await c.close()
