"""Redis connections from a URL, with bounded timeouts and a deliberate retry policy.

redis-py's defaults retry quietly for a long time; a worker must instead notice an
outage within seconds, report not-ready, and resume by itself.
"""

from __future__ import annotations

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


def _options(**overrides: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "health_check_interval": 15,
    }
    opts.update(overrides)
    return opts


def connect_async(url: str = DEFAULT_URL, **overrides: Any) -> aredis.Redis:
    """An asyncio client for ``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs; user
    and password in the URL select a Redis ACL user."""
    retry = AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES, _RETRY_ON)
    client: aredis.Redis = aredis.Redis.from_url(
        url, retry=retry, retry_on_error=list(_RETRY_ON), **_options(**overrides)
    )
    return client


def connect_sync(url: str = DEFAULT_URL, **overrides: Any) -> redis.Redis:
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES, _RETRY_ON)
    client: redis.Redis = redis.Redis.from_url(
        url, retry=retry, retry_on_error=list(_RETRY_ON), **_options(**overrides)
    )
    return client
