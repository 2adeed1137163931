"""Redis connections from a URL, with bounded timeouts and a deliberate retry policy.

redis-py's defaults retry quietly for a long time; a worker must instead notice an
outage within seconds, report not-ready, and resume by itself. TCP sockets also carry
keepalive and ``TCP_USER_TIMEOUT`` at the socket timeout: after a silent partition the
kernel abandons a connection the client gave up on, instead of delivering its commands
(a claim nobody waits for any more) once the network heals.
"""

from __future__ import annotations

import socket
from typing import Any

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

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


def connect_async(url: str = DEFAULT_URL, **overrides: Any) -> aredis.Redis:
    """An asyncio client for ``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs; user
    and password in the URL select a Redis ACL user."""
    retry = AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES, _RETRY_ON)
    client: aredis.Redis = aredis.Redis.from_url(
        url, retry=retry, retry_on_error=list(_RETRY_ON), **_options(url, **overrides)
    )
    return client


def connect_sync(url: str = DEFAULT_URL, **overrides: Any) -> redis.Redis:
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES, _RETRY_ON)
    client: redis.Redis = redis.Redis.from_url(
        url, retry=retry, retry_on_error=list(_RETRY_ON), **_options(url, **overrides)
    )
    return client
