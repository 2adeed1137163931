"""A cluster client that reaches no node at all fails its calls typed, as a standalone one
does: redis-py says so with RedisClusterException, which is no RedisError."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.rediscluster import RedisCluster
from worker_runtime.client import Client
from worker_runtime.errors import RedisUnavailableError


async def test_a_producer_whose_cluster_is_gone_gets_redis_unavailable(tmp_path: Path) -> None:
    cluster = RedisCluster(tmp_path, masters=3)
    cluster.start()
    try:
        client = Client.from_url(cluster.url)
        try:
            await client.enqueue("unreachable", "noop")  # learns the slot map
            for node in cluster.nodes:
                node.kill()
            with pytest.raises(RedisUnavailableError):
                await client.enqueue("unreachable", "noop")
        finally:
            await client.close()
    finally:
        cluster.stop()
