"""The CLI's queue, job and dead-letter commands (stats, queue list, dlq list/retry/purge)
run again against a three-master Redis Cluster: this module points ``redis_url`` and ``r``
at the cluster, and every test of those modules is collected here too."""

from __future__ import annotations

import tests.cli.test_dlq
import tests.cli.test_job
import tests.cli.test_queue
from tests.cli.conftest import claim, make_dead, run, snapshot
from tests.topology.on_cluster import r, redis_url, reuse

# The fixtures, for the reused tests.
__all__ = ["claim", "make_dead", "r", "redis_url", "run", "snapshot"]

reuse(globals(), tests.cli.test_queue, tests.cli.test_job, tests.cli.test_dlq)
