"""The exceptions that mean "Redis is unreachable right now", as opposed to a bug."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Caught by the worker's loops, which then report not-ready, back off and retry.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
