"""The least-privilege Redis ACL rules of each role (producer, worker, operator): the keys,
channels and commands it needs, printed by ``blackroad acl``.

Every queue's data lives under its own hash tag (``brq:{q}:*``), so a role limited to some
queues gets exactly those key patterns. The few global keys a role needs hold no queue's
data: the queue registry (names only), the worker registry, shared rate limiters, the
operator's claims and the schedule index. No role gets ``@dangerous`` commands (``KEYS``,
``FLUSHALL``, ``CONFIG``, ``DEBUG``...), nor ``SCRIPT FLUSH``.
"""

from __future__ import annotations

from collections.abc import Sequence

from worker_runtime.engine.keys import OPERATOR_CLAIMS, PREFIX, QUEUES, SCHEDULES, WORKERS
from worker_runtime.engine.validation import check_queue_name

ROLES = ("producer", "worker", "operator")

#: Commands the Lua scripts call (Redis checks a script's calls against the ACL too).
SCRIPT_COMMANDS = (
    *("del", "hdel", "hexists", "hget", "hincrby", "hlen", "hmget", "hset", "hsetnx"),
    *("incr", "incrby", "pexpire", "publish", "sadd", "set", "sismember", "smismember"),
    # On a Redis Cluster the scripts publish on their queue's shard (lua.sharded).
    *("spublish", "pubsub|shardnumsub"),
    *("srem", "time", "zadd", "zcard", "zcount", "zrange", "zrangebyscore", "zrem"),
    *("zremrangebyscore", "zscore"),
    # Events are built only while someone listens (eventsOn asks PUBSUB NUMSUB).
    "pubsub|numsub",
    # enqueuedeps tells a Cluster (refuses dependencies across queues there) by this.
    "cluster|keyslot",
)
#: Commands redis-py and the engine send themselves: scripts by SHA (loaded on a miss),
#: transactions, the reads of engine.reads, pub/sub, the connection handshake, and WAIT
#: (the durable enqueue).
CLIENT_COMMANDS = (
    *("evalsha", "script|load", "script|exists", "multi", "exec", "discard"),
    *("hgetall", "mget", "smembers", "exists", "subscribe", "unsubscribe"),
    *("ssubscribe", "sunsubscribe"),
    *("ping", "hello", "select", "client|setname", "wait"),
)
COMMANDS = tuple(sorted({*SCRIPT_COMMANDS, *CLIENT_COMMANDS}))


def queue_pattern(queue: str) -> str:
    """Every key and channel of one queue (its hash tag)."""
    return f"{PREFIX}:{{{queue}}}:*"


def _globals(role: str) -> list[str]:
    """Key patterns outside any queue that ``role`` needs."""
    if role == "producer":
        return [QUEUES]
    if role == "worker":
        return [QUEUES, WORKERS, f"{PREFIX}:worker:*", f"{PREFIX}:limiter:*"]
    return [
        QUEUES,
        WORKERS,
        f"{PREFIX}:worker:*",
        f"{PREFIX}:limiter:*",
        OPERATOR_CLAIMS,
        SCHEDULES,
    ]


def rules(role: str, queues: Sequence[str] = ()) -> list[str]:
    """The ACL rules (``ACL SETUSER <user> <rules...>``) of ``role`` limited to ``queues``
    (all queues when empty: ``brq:*``). The user still needs ``on`` and a password."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}; one of {', '.join(ROLES)}")
    for queue in queues:
        check_queue_name(queue)
    if queues:
        patterns = [queue_pattern(q) for q in queues]
        keys = [*patterns, *_globals(role)]
        channels = patterns
    else:
        keys = channels = [f"{PREFIX}:*"]
    return [
        "resetkeys",
        "resetchannels",
        *(f"~{k}" for k in keys),
        *(f"&{c}" for c in channels),
        "-@all",
        *(f"+{c}" for c in COMMANDS),
    ]
