"""Shared fixtures: a real redis-server per test session, flushed before each test.

Also marks every test that needs none of the servers as ``pure`` (``make test-fast``).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from tests.redis_server import RedisServer
from worker_runtime.client import Client, SyncClient

#: Fixtures that start a server (Redis, the devcluster, the whole local system); every other
#: fixture that needs one depends on one of these, so a test's fixture closure tells.
SERVER_FIXTURES = frozenset(
    {
        "redis_server",
        "emulator",
        "kubeconfig",
        "cluster",
        "stack",
        "tls_redis",
        "sentinels",
        "replicated",
        "redis_cluster",
    }
)
#: What a test body calls when it starts a server or a process of its own.
STARTS_A_PROCESS = re.compile(r"\b(Cluster|RedisServer|Stack|KopfRunner|Popen)\(|\bsubprocess\.")
#: Markers of tiers that are never pure, whatever their fixtures.
HEAVY_MARKERS = ("slow", "kind")


def is_pure(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function):
        return False
    if item.path.relative_to(item.config.rootpath).parts[0] == "e2e":
        return False
    if any(item.get_closest_marker(name) for name in HEAVY_MARKERS):
        return False
    if not SERVER_FIXTURES.isdisjoint(item.fixturenames):
        return False
    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError):  # no source to read: assume the worst
        return False
    return STARTS_A_PROCESS.search(source) is None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Classified here rather than marked in each file, so a new test needs no marker.
    for item in items:
        if is_pure(item):
            item.add_marker(pytest.mark.pure)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    conn = redis.Redis.from_url(redis_server.url)
    conn.flushall()
    conn.close()
    return redis_server.url


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url, decode_responses=True)
    yield conn
    conn.close()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Client]:
    c = Client.from_url(redis_url)
    yield c
    await c.close()


@pytest.fixture
def sync_client(redis_url: str) -> Iterator[SyncClient]:
    c = SyncClient(redis_url)
    yield c
    c.close()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
