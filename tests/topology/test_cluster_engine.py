"""The engine's lifecycle, enqueue, claim, admin and state-machine tests, run again against
a three-master Redis Cluster: this module's fixtures point ``client``, ``r`` and
``redis_url`` at the cluster, and every test of those modules is collected here too."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
import redis

import tests.engine.test_admin
import tests.engine.test_claim
import tests.engine.test_enqueue
import tests.engine.test_lifecycle
import tests.engine.test_stateful
from worker_runtime.client import Client

REUSED: tuple[ModuleType, ...] = (
    tests.engine.test_lifecycle,
    tests.engine.test_enqueue,
    tests.engine.test_claim,
    tests.engine.test_admin,
    tests.engine.test_stateful,
)

for _module in REUSED:
    globals().update({n: f for n, f in vars(_module).items() if n.startswith("test_")})


@pytest.fixture
def redis_url(cluster_url: str) -> str:
    return cluster_url


@pytest.fixture
def r(cluster_r: redis.Redis) -> Iterator[redis.Redis]:
    yield cluster_r


@pytest.fixture
def client(cluster_client: Client) -> Iterator[Client]:
    yield cluster_client
