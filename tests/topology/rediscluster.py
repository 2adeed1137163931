"""Re-exported for tests: a local Redis Cluster on loopback ports (devstack.rediscluster)."""

from devstack.rediscluster import (
    SLOT_RANGES,
    ClusterNode,
    RedisCluster,
    key_slot,
    queue_on_slot_range,
)

__all__ = ["SLOT_RANGES", "ClusterNode", "RedisCluster", "key_slot", "queue_on_slot_range"]
