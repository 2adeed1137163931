"""Which Redis failures mean "Redis cannot serve this now" (as opposed to a bug), and the
typed engine error for each; called only once an exception was raised."""

from __future__ import annotations

import ast
import re

from redis.asyncio.sentinel import MasterNotFoundError as AsyncMasterNotFoundError
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    BusyLoadingError,
    ClusterDownError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import MasterNotFoundError

from worker_runtime.errors import RedisUnavailableError, StorageFullError

#: Error replies of a Redis that refuses writes for want of memory or disk.
STORAGE_FULL_CODES = frozenset({"OOM", "MISCONF"})
#: Error replies of a Redis that cannot serve now but will by itself (or after a failover).
UNAVAILABLE_CODES = STORAGE_FULL_CODES | {
    "READONLY",
    "LOADING",
    "BUSY",
    "MASTERDOWN",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "NOREPLICAS",
}

#: How redis-py's cluster client says that no node it knows answers (a partition, every
#: master down): a RedisClusterException, not a ConnectionError.
_CLUSTER_UNREACHABLE = "Redis Cluster cannot be connected"

#: Caught by the worker's loops, which then report not-ready, back off and retry. The
#: store raises the typed errors; the raw ones come from the few direct calls (pub/sub),
#: and RedisClusterException (no RedisError: the store lets it through) from the cluster
#: client when it reaches no node at all.
REDIS_DOWN = (
    RedisUnavailableError,
    RedisConnectionError,
    RedisTimeoutError,
    RedisClusterException,
    OSError,
)

# redis-py strips the code off the replies it maps to a class of its own.
_CLASS_CODES: tuple[tuple[type[ResponseError], str], ...] = (
    (OutOfMemoryError, "OOM"),
    (ReadOnlyError, "READONLY"),
    (MasterDownError, "MASTERDOWN"),
    (ClusterDownError, "CLUSTERDOWN"),
    (TryAgainError, "TRYAGAIN"),
)
# A pipeline's error is rewritten to "Command # 2 (EVALSHA ...) of pipeline caused error:
# ('<reply>',)"; the command's arguments (keys, payloads) are no part of Redis's reply.
_PIPELINE = re.compile(r"Command # \d+ \(.*?\) of pipeline caused error: (.*)\Z", re.DOTALL)
# Before Redis 7, an error inside a script came wrapped: "Error running script (call to
# f_...): @user_script:12: -OOM command not allowed ...".
_IN_SCRIPT = re.compile(r"Error running script .*?: -([A-Z]+) ", re.DOTALL)


def _reply_text(exc: ResponseError) -> str:
    text = str(exc.args[0]) if exc.args else ""
    found = _PIPELINE.match(text)
    if found is None:
        return text
    inner = found.group(1)
    try:
        parsed = ast.literal_eval(inner)
    except (ValueError, SyntaxError):
        return inner
    if isinstance(parsed, tuple) and parsed and isinstance(parsed[0], str):
        return parsed[0]
    return inner


def reply_code(exc: ResponseError) -> tuple[str, str]:
    """(Redis's error code, Redis's full reply text) of an error reply; the code is ""
    when the reply has none that says what went wrong (a plain ``ERR``)."""
    text = _reply_text(exc)
    for cls, code in _CLASS_CODES:
        if isinstance(exc, cls):
            return code, f"{code} {text}"
    first = text.split(" ", 1)[0]
    if first in UNAVAILABLE_CODES:
        return first, text
    wrapped = _IN_SCRIPT.match(text)
    if wrapped is not None:
        return wrapped.group(1), text[wrapped.start(1) :]
    return "", text


def unavailable(exc: BaseException) -> RedisUnavailableError | None:
    """The typed error when ``exc`` means Redis cannot serve now; None for anything else
    (a bug, a refused script, wrong credentials, which no waiting will fix)."""
    if isinstance(exc, RedisUnavailableError):
        return exc
    if isinstance(exc, AuthenticationError | AuthorizationError):
        return None
    if isinstance(exc, MasterNotFoundError | AsyncMasterNotFoundError):
        # redis-py appends its whole client repr; the first clause says it all.
        first = str(exc).split(" : ", 1)[0]
        return RedisUnavailableError(f"{first} (no sentinel reachable, or none knows it)")
    if isinstance(exc, BusyLoadingError):
        return RedisUnavailableError(f"LOADING {exc}", code="LOADING")
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
        return RedisUnavailableError(str(exc) or type(exc).__name__)
    if isinstance(exc, SlotNotCoveredError) or (
        isinstance(exc, RedisClusterException) and str(exc).startswith(_CLUSTER_UNREACHABLE)
    ):
        return RedisUnavailableError(str(exc))
    if isinstance(exc, ResponseError):
        code, text = reply_code(exc)
        if code in STORAGE_FULL_CODES:
            return StorageFullError(text, code=code)
        if code in UNAVAILABLE_CODES:
            return RedisUnavailableError(text, code=code)
    return None
