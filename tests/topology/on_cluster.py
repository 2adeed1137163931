"""Points the usual fixtures (``redis_url``, ``r``, ``client``) at the three-master cluster
and collects another module's tests, so a suite written for one Redis runs on a cluster as
it is. A module imports the fixtures it needs from here and calls ``reuse``."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import redis

from worker_runtime.client import Client


@pytest.fixture
def redis_url(cluster_url: str) -> str:
    return cluster_url


@pytest.fixture
def r(cluster_r: redis.Redis) -> Iterator[redis.Redis]:
    yield cluster_r


@pytest.fixture
def client(cluster_client: Client) -> Iterator[Client]:
    yield cluster_client


def reuse(namespace: dict[str, Any], *modules: ModuleType) -> None:
    """Every ``test_`` function of ``modules`` collected again in ``namespace``."""
    for module in modules:
        namespace.update({n: f for n, f in vars(module).items() if n.startswith("test_")})
