"""The subprocess fleet fault tests of ``test_faults`` run again with real worker processes
against a three-master Redis Cluster: SIGKILLed workers, SIGTERM with jobs running, and a
handler that kills its process; no job lost, recovery by another worker.

Not reused, since they act on the one server itself: ``test_redis_killed_and_restarted_
with_aof`` (on a cluster a dead master is replaced by its replica:
``tests/topology/test_cluster_failover.py``) and ``test_redis_frozen_longer_than_a_lease``
(a master frozen longer than the cluster's node timeout is marked failed and the cluster
stops serving every slot, a different fault; it needs its own test).
"""

from __future__ import annotations

import pytest

import tests.worker.test_faults as standalone
from tests.topology.conftest import cluster_r, cluster_url, redis_cluster
from tests.topology.on_cluster import r, redis_url
from tests.worker.test_faults import fleet_factory

# The fixtures, for the reused tests.
__all__ = ["cluster_r", "cluster_url", "fleet_factory", "r", "redis_cluster", "redis_url"]

pytestmark = pytest.mark.slow

test_sigkill_a_random_worker_periodically = standalone.test_sigkill_a_random_worker_periodically
test_sigterm_with_50_running_jobs = standalone.test_sigterm_with_50_running_jobs
test_handler_that_kills_its_process = standalone.test_handler_that_kills_its_process
