"""The engine's lifecycle, enqueue, claim, admin and state-machine tests, run again against
a three-master Redis Cluster: this module's fixtures point ``client``, ``r`` and
``redis_url`` at the cluster, and every test of those modules is collected here too."""

from __future__ import annotations

from types import ModuleType

import tests.engine.test_admin
import tests.engine.test_claim
import tests.engine.test_enqueue
import tests.engine.test_lifecycle
import tests.engine.test_stateful
from tests.topology.on_cluster import client, r, redis_url, reuse

# The fixtures, for the reused tests.
__all__ = ["client", "r", "redis_url"]

REUSED: tuple[ModuleType, ...] = (
    tests.engine.test_lifecycle,
    tests.engine.test_enqueue,
    tests.engine.test_claim,
    tests.engine.test_admin,
    tests.engine.test_stateful,
)

reuse(globals(), *REUSED)
