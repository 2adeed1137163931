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


@pytest.mark.parametrize(
    ("durable", "stall_s"),
    [(False, 0.0), (True, 0.0), (False, 1.0), (True, 1.0)],
    ids=["async-replication", "durable", "async-replica-behind", "durable-replica-behind"],
)
async def test_clients_follow_a_failover(
    sentinels: SentinelGroup, tmp_path: Path, durable: bool, stall_s: float
) -> None:
    """With ``stall_s``, the replica is stopped for that long before the master dies, so
    that asynchronous replication is behind what the master acknowledged."""
    out = await run_failover(sentinels, tmp_path, durable=durable, stall_s=stall_s)
    print(out.line())  # the figures for the README (pytest -s)
    assert out.acked and out.producer_follow_s is not None and out.worker_follow_s is not None
    assert out.unfinished == []
    assert out.late_duplicates == []
    if durable:
        assert out.lost == []
