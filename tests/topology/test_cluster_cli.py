"""The CLI's queue, job and dead-letter commands (stats, queue list, dlq list/retry/purge)
run again against a three-master Redis Cluster: this module points ``redis_url`` and ``r``
at the cluster, and every test of those modules is collected here too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

import tests.cli.test_dlq
import tests.cli.test_job
import tests.cli.test_queue
from tests.cli.conftest import claim, make_dead, run, snapshot

__all__ = ["claim", "make_dead", "run", "snapshot"]  # the fixtures, for the reused tests

for _module in (tests.cli.test_queue, tests.cli.test_job, tests.cli.test_dlq):
    globals().update({n: f for n, f in vars(_module).items() if n.startswith("test_")})


@pytest.fixture
def redis_url(cluster_url: str) -> str:
    return cluster_url


@pytest.fixture
def r(cluster_r: redis.Redis) -> Iterator[redis.Redis]:
    yield cluster_r
