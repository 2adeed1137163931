"""Sentinel failover: SIGKILL the master under a producer at full speed and a draining worker.

Clients follow the promoted replica without a restart; every acknowledged job that
survived ends in exactly one terminal state; only jobs in flight at the kill run twice;
acknowledged enqueues lost to asynchronous replication are counted and reported, and none
are lost in the durable mode (WAIT for one replica).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.topology.failover import run_failover
from tests.topology.servers import SentinelGroup

pytestmark = pytest.mark.slow


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path)
    try:
        group.start()
        yield group
    finally:
        group.stop()


@pytest.mark.parametrize("durable", [False, True], ids=["async-replication", "durable"])
async def test_clients_follow_a_failover(
    sentinels: SentinelGroup, tmp_path: Path, durable: bool
) -> None:
    out = await run_failover(sentinels, tmp_path, durable=durable)
    print(out.line())  # the figures for the README (pytest -s)
    assert out.acked and out.producer_follow_s is not None and out.worker_follow_s is not None
    assert out.unfinished == []
    assert out.late_duplicates == []
    if durable:
        assert out.lost == []
