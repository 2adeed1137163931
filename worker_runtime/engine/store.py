"""Runs engine operations (``operation.Op``) against Redis.

Scripts are called by SHA with pre-built EVALSHA commands (keys in order, cached per op
shape); a script missing after a Redis restart is loaded and the call sent again
(``pipelining``). On one Redis (or behind Sentinel) concurrent script ops share a round
trip (``pipelining.AutoPipeline``), each atomic with its own reply. On a Redis Cluster
every op's keys share one slot (``keys``), so the cluster client sends each to the master
of that slot; plain-command ops spanning slots run unbatched there.
This is where Redis's exceptions that mean "cannot serve now" become the engine's typed
``RedisUnavailableError`` and ``StorageFullError`` (``redis_errors.unavailable``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

import redis.asyncio as aredis
from redis.commands.core import AsyncScript
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from worker_runtime.engine.clusternodes import Call, run_durable
from worker_runtime.engine.keys import QUEUES
from worker_runtime.engine.lua import scripts
from worker_runtime.engine.operation import Op
from worker_runtime.engine.pipelining import AutoPipeline, Command, Exchange, pack
from worker_runtime.engine.redis_errors import unavailable
from worker_runtime.errors import NotReplicatedError

T = TypeVar("T")

#: What a call may raise when Redis cannot serve: the cluster client says "no node answers"
#: with RedisClusterException, which is no RedisError.
_FAILURES = (RedisError, RedisClusterException, OSError)


def _keys(op: Op[Any]) -> list[str]:
    """The op's keys in KEYS order; a ConfigError unless they are the script's by name."""
    assert op.script is not None
    return scripts()[op.script].key_list(op.keys)


#: KEYS lists by (script, keys by name): the ops of one queue repeat a handful of shapes.
_KEY_LISTS: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
#: Bound of that cache (a process that touches many queues starts it afresh).
_KEY_LISTS_MAX = 4096
#: The same by the keys mapping itself, for builders that reuse one per queue (enqueue):
#: id -> (that mapping, kept so that its id cannot be reused, script, KEYS list).
_BY_MAPPING: dict[int, tuple[Mapping[str, str], str, list[str]]] = {}
#: Each script's SHA1, and the source of each SHA (to load it after NOSCRIPT).
_SHAS: dict[str, str] = {}
_SOURCES: dict[str, str] = {}


def _sha(script: str) -> str:
    sha = _SHAS.get(script)
    if sha is None:
        source = scripts()[script].source
        sha = _SHAS[script] = hashlib.sha1(source.encode()).hexdigest()
        _SOURCES[sha] = source
    return sha


def _key_list(op: Op[Any]) -> list[str]:
    assert op.script is not None, "a script op"
    shape = (op.script, tuple(op.keys.items()))
    keys = _KEY_LISTS.get(shape)
    if keys is None:
        if len(_KEY_LISTS) >= _KEY_LISTS_MAX:
            _KEY_LISTS.clear()
        keys = _KEY_LISTS[shape] = _keys(op)
    return keys


def evalsha(op: Op[Any]) -> Command:
    """The op's script call as one command: ``EVALSHA sha nkeys *keys *args``."""
    assert op.script is not None, "a script op"
    seen = _BY_MAPPING.get(id(op.keys))
    if seen is not None and seen[0] is op.keys and seen[1] == op.script:
        keys = seen[2]
    else:
        keys = _key_list(op)
        if isinstance(op.keys, MappingProxyType):  # read-only: safe to know by identity
            if len(_BY_MAPPING) >= _KEY_LISTS_MAX:
                _BY_MAPPING.clear()
            _BY_MAPPING[id(op.keys)] = (op.keys, op.script, keys)
    sha = _sha(op.script)
    return sha, pack("EVALSHA", sha, len(keys), *keys, *op.args)


def evalsha_parts(op: Op[Any]) -> tuple[str, list[str | int], list[Any]]:
    """What ``evalsha`` packs, unpacked: the SHA, ``EVALSHA sha nkeys *keys`` and the
    arguments (for a caller that packs the repeating part of a command once)."""
    assert op.script is not None, "a script op"
    keys = _key_list(op)
    sha = _sha(op.script)
    return sha, ["EVALSHA", sha, len(keys), *keys], list(op.args)


def _one_slot(commands: Sequence[tuple[Any, ...]]) -> bool:
    """Whether every command names a key (its first argument) and all in one slot: what a
    MULTI on a cluster needs. Engine reads name the key first; TIME names none."""
    slots = {key_slot(str(c[1]).encode()) if len(c) > 1 else -1 for c in commands}
    return len(slots) == 1 and -1 not in slots


@dataclass(frozen=True)
class Durability:
    """Wait for ``replicas`` replicas to confirm a write (Redis ``WAIT``) for at most
    ``timeout_ms``: what asynchronous replication would otherwise lose on a failover."""

    replicas: int = 1
    timeout_ms: int = 1000


class AsyncStore:
    """Executes ops with an asyncio Redis client."""

    def __init__(self, client: aredis.Redis | aredis.RedisCluster) -> None:
        self.redis = client
        self.cluster = isinstance(client, aredis.RedisCluster)
        self._scripts: dict[str, AsyncScript] = {}
        #: Queues this process has registered (or found registered).
        self.known_queues: set[str] = set()
        self._exchange: Exchange | None = None
        #: Where ``run`` sends script ops on one Redis (None on a cluster).
        self.autopipeline: AutoPipeline | None = None
        if isinstance(client, aredis.Redis):
            self._exchange = Exchange(client, _SOURCES.__getitem__)
            self.autopipeline = AutoPipeline(Exchange(client, _SOURCES.__getitem__, hold=True))

    def _script(self, name: str) -> AsyncScript:
        if name not in self._scripts:
            script = scripts()[name]
            # A cluster's scripts publish on their queue's shard (SPUBLISH), where the
            # listeners subscribe (engine.subscription); a PUBLISH would reach every node.
            source = script.sharded if self.cluster else script.source
            self._scripts[name] = self.redis.register_script(source)
        return self._scripts[name]

    async def run(self, op: Op[T]) -> T:
        """Runs one op; raises ``RedisUnavailableError`` (or ``StorageFullError``) when
        Redis cannot serve it now, in which case the op wrote nothing."""
        try:
            if op.script is not None and self.autopipeline is not None:
                reply = await self.autopipeline.send(evalsha(op))
            elif op.script is not None:
                reply = await self._script(op.script)(keys=_keys(op), args=list(op.args))
            else:
                # A cluster MULTI takes one slot only; a read across queues (slots) is then
                # no snapshot, as it could not be one across masters anyway.
                atomic = not self.cluster or _one_slot(op.commands)
                async with self.redis.pipeline(transaction=atomic) as pipe:
                    for cmd in op.commands:
                        pipe.execute_command(*cmd)
                    reply = await pipe.execute()
        except _FAILURES as exc:
            _raise_typed(exc)
        return op.parse(reply)

    async def send(self, command: Command) -> Any:
        """One script call already packed (``evalsha``'s form; one Redis, not a cluster:
        see ``autopipeline``), with ``run``'s typed errors; its reply unparsed."""
        assert self.autopipeline is not None, "a single Redis"
        try:
            return await self.autopipeline.send(command)
        except _FAILURES as exc:
            _raise_typed(exc)

    async def run_many(
        self, ops: Sequence[Op[Any]], durable: Durability | None = None
    ) -> list[Any]:
        """Runs script ops in one round trip (not atomic together; each is atomic). When
        Redis refuses one, some of the others may have been written: each op's own
        guarantee (its fencing token, its dedupe key) makes running them again safe.

        With ``durable``, a ``WAIT`` follows on the same connection (WAIT counts that
        connection's writes) and ``NotReplicatedError`` says when too few replicas confirmed."""
        if len(ops) == 1 and durable is None:
            return [await self.run(ops[0])]
        if self._exchange is None:
            return await self._run_many_on_cluster(ops, durable)
        commands = [evalsha(op) for op in ops]
        if durable is not None:
            commands.append(("", pack("WAIT", durable.replicas, durable.timeout_ms)))
        try:
            replies = await self._exchange(commands)
            for reply in replies:
                if isinstance(reply, ResponseError):
                    raise reply
        except _FAILURES as exc:
            _raise_typed(exc)
        if durable is not None:
            acked = int(replies.pop())
            if acked < durable.replicas:
                raise NotReplicatedError(
                    f"written on the master, but {acked} of {durable.replicas} replicas "
                    f"confirmed it within {durable.timeout_ms} ms (WAIT); a failover now could "
                    "lose it",
                    code="NOREPLICAS",
                )
        return [op.parse(r) for op, r in zip(ops, replies, strict=True)]

    async def _run_many_on_cluster(
        self, ops: Sequence[Op[Any]], durable: Durability | None
    ) -> list[Any]:
        """Runs the ops concurrently, each on the master of its slot: a cluster pipeline
        would not reload a script a new master lacks after a failover (NOSCRIPT). Durable:
        one pipeline per master, its ops then WAIT on that master's connection (WAIT counts
        one connection's writes)."""
        assert isinstance(self.redis, aredis.RedisCluster)
        if durable is not None:
            calls: list[Call] = []
            for op in ops:
                assert op.script is not None, "run_many takes script ops only"
                calls.append((self._script(op.script), _keys(op), list(op.args)))
            try:
                replies = await run_durable(self.redis, calls, durable.replicas, durable.timeout_ms)
            except _FAILURES as exc:
                _raise_typed(exc)
            return [op.parse(r) for op, r in zip(ops, replies, strict=True)]
        replies = await asyncio.gather(*(self.run(op) for op in ops), return_exceptions=True)
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return list(replies)

    async def call(self, command: Awaitable[T]) -> T:
        """Awaits one plain redis-py command, with the same typed errors as ``run``."""
        try:
            return await command
        except _FAILURES as exc:
            _raise_typed(exc)

    async def register_queues(self, queues: Sequence[str]) -> None:
        """Adds queues to the registry, once per queue per process."""
        new = [q for q in queues if q not in self.known_queues]
        if new:
            await self.call(self.redis.sadd(QUEUES, *new))
            self.known_queues.update(new)

    async def unregister_queue(self, queue: str) -> None:
        """Removes a deleted queue from the registry (an enqueue registers it again)."""
        await self.redis.srem(QUEUES, queue)
        self.known_queues.discard(queue)

    async def queues(self) -> list[str]:
        members: set[str] = await self.call(self.redis.smembers(QUEUES))  # type: ignore[arg-type]
        return sorted(members)


def _raise_typed(exc: RedisError | RedisClusterException | OSError) -> NoReturn:
    typed = unavailable(exc)
    if typed is None:
        raise exc
    raise typed from exc
