"""Re-exported for tests: a local Redis Cluster on loopback ports (devstack.rediscluster),
and what the failover tests ask of one after a node was killed."""

import redis

from devstack.rediscluster import (
    SLOT_RANGES,
    ClusterNode,
    RedisCluster,
    key_slot,
    queue_on_slot_range,
)

__all__ = [
    "SLOT_RANGES",
    "ClusterNode",
    "RedisCluster",
    "key_slot",
    "live_master_of_slot",
    "queue_on_slot_range",
    "replica_of_slot",
]


def _live(node: ClusterNode) -> bool:
    return node.proc is not None and node.proc.poll() is None


def live_master_of_slot(cluster: RedisCluster, slot: int) -> ClusterNode:
    """The master serving ``slot``, as the first live node that answers tells it."""
    for node in filter(_live, cluster.nodes):
        try:
            with redis.Redis(port=node.port, decode_responses=True) as conn:
                table = conn.execute_command("CLUSTER", "SLOTS")
        except redis.RedisError:
            continue
        for start, end, master, *_ in table:
            if start <= slot <= end:
                return next(n for n in cluster.nodes if n.port == int(master[1]))
    raise LookupError(f"slot {slot} is not served")


def replica_of_slot(cluster: RedisCluster, slot: int) -> ClusterNode:
    """A live replica of the master serving ``slot``."""
    master = live_master_of_slot(cluster, slot)
    for node in filter(_live, cluster.nodes):
        if node is master:
            continue
        with redis.Redis(port=node.port, decode_responses=True) as conn:
            info = conn.info("replication")
        if info["role"] == "slave" and int(info["master_port"]) == master.port:
            return node
    raise LookupError(f"slot {slot} has no replica")
