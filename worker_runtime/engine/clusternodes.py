"""Commands on one Redis Cluster master's own connection, where the cluster client cannot
help: a durable write (WAIT counts the writes of the connection it is sent on, so the
scripts and their WAIT share one connection to the master of their slot) and the
per-master clients of sharded pub/sub.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aredis
from redis.asyncio.cluster import ClusterNode, PipelineCommand
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from worker_runtime.errors import NotReplicatedError

#: One script call: the script, its keys (all of one slot) and its arguments.
Call = tuple[AsyncScript, list[str], list[Any]]
#: Rounds of a durable write while the slot map changes under it (a failover).
TRIES = 4
#: Replies meaning "this master does not serve that slot now; ask the cluster again".
_REROUTE = (MovedError, AskError, TryAgainError, ClusterDownError)
_LOST = (RedisConnectionError, RedisTimeoutError, OSError)


async def refresh(client: aredis.RedisCluster, *, again: bool = True) -> None:
    """Asks the cluster which master serves each slot: again (after a failover), or only
    if the client has not asked yet. No node answering is a ``ConnectionError`` (the
    engine's "cannot serve now"), not redis-py's bare ``RedisClusterException``."""
    try:
        if again:
            await client.nodes_manager.initialize()
        else:
            await client.initialize()
    except RedisClusterException as exc:
        raise RedisConnectionError(f"no cluster node answered: {exc}") from exc


def node_client(node: ClusterNode) -> aredis.Redis:
    """A client of that node alone with the cluster client's options (TLS, ACL user,
    timeouts, keepalive): what a subscription on one master needs. Close it after use."""
    pool = aredis.ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
    return aredis.Redis(connection_pool=pool)


async def run_durable(
    client: aredis.RedisCluster, calls: Sequence[Call], replicas: int, timeout_ms: int
) -> list[Any]:
    """Runs each script call on the master of its slot followed by ``WAIT`` on the same
    connection, one pipeline per master, all masters at once. A call a master refuses for
    want of its slot (MOVED after a failover) runs again where the refreshed slot map
    says; ``NotReplicatedError`` when a master's WAIT counts fewer than ``replicas``.
    A reply lost with its connection makes the caller's error (sending again is safe for
    the same reasons as everywhere: job ids, dedupe keys, fencing tokens)."""
    await refresh(client, again=False)
    replies: dict[int, Any] = {}
    todo = list(range(len(calls)))
    for attempt in range(TRIES):
        if attempt:
            await asyncio.sleep(0.1 * 2**attempt)
            await refresh(client)
        groups = _by_master(client, calls, todo)
        outcomes = await asyncio.gather(
            *(
                _on_node(node, [calls[i] for i in idx], replicas, timeout_ms)
                for node, idx in groups.values()
            ),
            return_exceptions=True,
        )
        todo = []
        for (_, idx), outcome in zip(groups.values(), outcomes, strict=True):
            final = attempt == TRIES - 1
            if isinstance(outcome, _LOST) and not final:
                todo += idx
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            results, acked = outcome
            written = 0
            for i, result in zip(idx, results, strict=True):
                if isinstance(result, _REROUTE + _LOST) and not final:
                    todo.append(i)
                elif isinstance(result, Exception):
                    raise result
                else:
                    replies[i] = result
                    written += 1
            if written and acked < replicas:
                raise NotReplicatedError(
                    f"written on the master, but {acked} of {replicas} replicas confirmed it "
                    f"within {timeout_ms} ms (WAIT); a failover now could lose it",
                    code="NOREPLICAS",
                )
        if not todo:
            break
    return [replies[i] for i in range(len(calls))]


async def _on_node(
    node: ClusterNode, calls: Sequence[Call], replicas: int, timeout_ms: int
) -> tuple[list[Any], int]:
    """The calls' replies (an exception in place of an error reply) and the replicas that
    confirmed them; a script the node lacks (a promoted replica) is loaded and run again."""
    results: list[Any] = [None] * len(calls)
    todo, confirmed = list(range(len(calls))), 0
    for _ in range(2):
        commands = [PipelineCommand(n, *_evalsha(calls[i])) for n, i in enumerate(todo)]
        commands.append(PipelineCommand(len(todo), "WAIT", replicas, timeout_ms))
        await node.execute_pipeline(commands)
        missing = []
        for i, cmd in zip(todo, commands, strict=False):
            if isinstance(cmd.result, NoScriptError):
                missing.append(i)
            results[i] = cmd.result
        acked = commands[-1].result
        if isinstance(acked, Exception):
            raise acked
        confirmed = int(acked)
        if not missing:
            break
        for script in {id(calls[i][0]): calls[i][0] for i in missing}.values():
            await node.execute_command("SCRIPT", "LOAD", script.script)
        todo = missing
    return results, confirmed


def _by_master(
    client: aredis.RedisCluster, calls: Sequence[Call], todo: list[int]
) -> dict[str, tuple[ClusterNode, list[int]]]:
    groups: dict[str, tuple[ClusterNode, list[int]]] = {}
    for i in todo:
        node = master_of(client, calls[i][1][0])
        groups.setdefault(node.name, (node, []))[1].append(i)
    return groups


def master_of(client: aredis.RedisCluster, key: str) -> ClusterNode:
    """The master serving ``key``'s slot by the client's slot map; ``ClusterDownError``
    (the engine's "cannot serve now") while none does."""
    try:
        node = client.get_node_from_key(key)
    except SlotNotCoveredError:
        node = None
    if node is None:
        raise ClusterDownError(f"CLUSTERDOWN no master serves the slot of {key} now")
    return node


def _evalsha(call: Call) -> list[Any]:
    script, keys, args = call
    return ["EVALSHA", script.sha, len(keys), *keys, *args]
