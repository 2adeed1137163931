"""Pub/sub on a three-master Redis Cluster: the ``Client.wait`` tests (woken only by the
completion message) run again there; this module points ``client``, ``r`` and ``redis_url``
at the cluster, and every test of that module is collected here too. (``Client.events`` is
not served on a cluster yet: docs/architecture.md, Redis Cluster.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

import tests.engine.test_wait
from tests.engine.test_wait import no_fallback
from worker_runtime.client import Client

__all__ = ["no_fallback"]  # the autouse fixture of the wait tests: no re-reads, messages only

globals().update({n: f for n, f in vars(tests.engine.test_wait).items() if n.startswith("test_")})


@pytest.fixture
def redis_url(cluster_url: str) -> str:
    return cluster_url


@pytest.fixture
def r(cluster_r: redis.Redis) -> Iterator[redis.Redis]:
    yield cluster_r


@pytest.fixture
def client(cluster_client: Client) -> Iterator[Client]:
    yield cluster_client
