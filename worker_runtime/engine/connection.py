"""Redis connections from a URL, with bounded timeouts and a deliberate retry policy.

redis-py's defaults retry quietly for a long time; a worker must instead notice an
outage within seconds, report not-ready, and resume by itself. A Sentinel URL gives a
client that asks the sentinels for the master on every new connection, so it follows a
failover and never keeps writing to a demoted replica. TCP sockets also carry keepalive
and ``TCP_USER_TIMEOUT`` at the socket timeout: after a silent partition the kernel
abandons a connection the client gave up on, instead of delivering its commands (a claim
nobody waits for any more) once the network heals. A Cluster URL gives redis-py's
``RedisCluster``, which sends each command (and each script call, by its keys) to the
master of its slot and follows MOVED/ASK redirections and failovers.
"""

from __future__ import annotations

import socket
from typing import Any

import redis
import redis.asyncio as aredis
import redis.asyncio.sentinel as asentinel
import redis.sentinel as ssentinel
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import ClusterNode as SyncClusterNode
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from worker_runtime.engine.urls import RedisTarget, parse_url

#: What ``connect_async`` returns: a client of one server, or of a whole Redis Cluster.
AsyncRedis = aredis.Redis | aredis.RedisCluster
#: What ``connect_sync`` returns.
SyncRedis = redis.Redis | redis.RedisCluster

DEFAULT_URL = "redis://127.0.0.1:6379/0"
#: Seconds to wait for a reply or a connection before giving up on that try.
SOCKET_TIMEOUT = 5.0
#: Retries of one command after a connection error (each after a short back-off).
RETRIES = 2

_RETRY_ON = (RedisConnectionError, RedisTimeoutError)


def keepalive_options(timeout_s: float = SOCKET_TIMEOUT) -> dict[int, int]:
    """TCP options that make the kernel give up on an unanswered connection within about
    ``timeout_s``: idle probes (first after 2 s, then every second) and, where Linux has
    it, ``TCP_USER_TIMEOUT`` bounding how long unacknowledged data is retransmitted."""
    idle = max(1, min(2, int(timeout_s) - 1))
    opts: dict[int, int] = {}
    for name, value in (
        ("TCP_KEEPIDLE", idle),
        ("TCP_KEEPINTVL", 1),
        ("TCP_KEEPCNT", max(1, int(timeout_s) - idle)),
        ("TCP_USER_TIMEOUT", int(timeout_s * 1000)),
    ):
        if hasattr(socket, name):
            opts[getattr(socket, name)] = value
    return opts


def _options(url: str, **overrides: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "health_check_interval": 15,
    }
    if not url.startswith("unix:"):
        opts["socket_keepalive"] = True
        opts["socket_keepalive_options"] = keepalive_options(
            float(overrides.get("socket_timeout") or SOCKET_TIMEOUT)
        )
    opts.update(overrides)
    return opts


def _sentinel_kwargs(target: RedisTarget, opts: dict[str, Any], retry: Any) -> dict[str, Any]:
    """Options of the connections to the sentinels themselves: the same timeouts and TLS,
    and Sentinel's own credentials (none unless the URL gives them). No retries: the
    discovery asks the next sentinel instead (redis-py's default backs off for seconds)."""
    kwargs = {k: v for k, v in opts.items() if k.startswith("socket_")}
    kwargs["retry"] = retry
    kwargs.update(_tls_kwargs(target))
    if target.sentinel_password is not None:
        kwargs["password"] = target.sentinel_password
    if target.sentinel_username is not None:
        kwargs["username"] = target.sentinel_username
    return kwargs


def _tls_kwargs(target: RedisTarget) -> dict[str, Any]:
    return {"ssl": True, **dict(target.ssl)} if target.tls else {}


def _node_kwargs(target: RedisTarget) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"db": target.db, **_tls_kwargs(target)}
    if target.username is not None:
        kwargs["username"] = target.username
    if target.password is not None:
        kwargs["password"] = target.password
    return kwargs


class _AsyncSentinelMaster(aredis.Redis):
    """The master of a Sentinel service; closing it closes the sentinel connections too."""

    sentinels: asentinel.Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            await self.sentinels.aclose()


class _SyncSentinelMaster(redis.Redis):
    sentinels: ssentinel.Sentinel | None = None

    def close(self) -> None:
        super().close()
        if self.sentinels is not None:
            for node in self.sentinels.sentinels:
                node.close()


def _cluster_kwargs(target: RedisTarget, opts: dict[str, Any]) -> dict[str, Any]:
    """The cluster client's options: the node options less ``db`` (always 0 on a cluster).
    The same retry policy covers redirections and lost nodes: after each error the client
    asks again which master serves the slot."""
    kwargs = {**opts, **_node_kwargs(target)}
    kwargs.pop("db", None)
    return kwargs


def connect_async(url: str = DEFAULT_URL, **overrides: Any) -> AsyncRedis:
    """An asyncio client for any URL ``urls.parse_url`` accepts; user and password in the
    URL select a Redis ACL user. Raises ``RedisUrlError`` for a bad URL."""
    target = parse_url(url)
    retry = AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES, _RETRY_ON)
    opts = _options(url, retry=retry, retry_on_error=list(_RETRY_ON), **overrides)
    if target.kind == "sentinel":
        assert target.service is not None
        once = AsyncRetry(NoBackoff(), 0)
        sentinels = asentinel.Sentinel(  # type: ignore[no-untyped-call]
            target.hosts,
            sentinel_kwargs=_sentinel_kwargs(target, opts, once),
            **_node_kwargs(target),
        )
        master: _AsyncSentinelMaster = sentinels.master_for(
            target.service, redis_class=_AsyncSentinelMaster, **opts
        )
        master.sentinels = sentinels
        return master
    if target.kind == "cluster":
        nodes = [AsyncClusterNode(host, port) for host, port in target.hosts]
        return aredis.RedisCluster(startup_nodes=nodes, **_cluster_kwargs(target, opts))
    client: aredis.Redis = aredis.Redis.from_url(target.redis_py_url, **opts)
    return client


def connect_sync(url: str = DEFAULT_URL, **overrides: Any) -> SyncRedis:
    target = parse_url(url)
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES, _RETRY_ON)
    opts = _options(url, retry=retry, retry_on_error=list(_RETRY_ON), **overrides)
    if target.kind == "sentinel":
        assert target.service is not None
        once = Retry(NoBackoff(), 0)
        sentinels = ssentinel.Sentinel(  # type: ignore[no-untyped-call]
            target.hosts,
            sentinel_kwargs=_sentinel_kwargs(target, opts, once),
            **_node_kwargs(target),
        )
        master: _SyncSentinelMaster = sentinels.master_for(  # type: ignore[no-untyped-call]
            target.service, redis_class=_SyncSentinelMaster, **opts
        )
        master.sentinels = sentinels
        return master
    if target.kind == "cluster":
        nodes = [SyncClusterNode(host, port) for host, port in target.hosts]  # type: ignore[no-untyped-call]
        return redis.RedisCluster(startup_nodes=nodes, **_cluster_kwargs(target, opts))
    client: redis.Redis = redis.Redis.from_url(target.redis_py_url, **opts)
    return client
