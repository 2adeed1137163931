"""Runs one claimed job's handler with its timeout and turns what happened into an outcome."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import traceback
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from worker_runtime.control import PermanentFailure, Retry
from worker_runtime.handlers import Handler
from worker_runtime.models import ClaimedJob

#: Longest error text kept in a job's history (the head of the traceback).
ERROR_CHARS = 2000


@dataclass
class JobContext:
    """What a handler may know about its job; pass it by declaring a second parameter."""

    id: str
    queue: str
    name: str
    attempt: int
    max_attempts: int | None
    #: Set when the job was cancelled, its lease was lost, or the worker is stopping;
    #: long sync handlers should check it and return early.
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    result: str = ""
    reason: str = ""
    error: str = ""
    permanent: bool = False
    #: Milliseconds, when the handler asked for a specific retry delay.
    delay_ms: int = -1


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    return text[:ERROR_CHARS]


def failed(reason: str, error: str, *, permanent: bool = False) -> Outcome:
    return Outcome(False, reason=reason, error=error[:ERROR_CHARS], permanent=permanent)


async def execute(
    handler: Handler, job: ClaimedJob, ctx: JobContext, timeout_s: float, pool: Executor
) -> Outcome:
    """Runs the handler; never raises except CancelledError (lease lost or shutdown)."""
    try:
        payload = job.payload()
    except ValueError as exc:
        return failed("Undecodable", f"payload is not valid JSON: {exc}", permanent=True)
    args: tuple[Any, ...] = (payload, ctx) if handler.wants_context else (payload,)
    try:
        if handler.is_async:
            value = await asyncio.wait_for(handler.func(*args), timeout_s)
        else:
            call = contextvars.copy_context().run
            future = asyncio.get_running_loop().run_in_executor(pool, call, handler.func, *args)
            # A thread cannot be killed: on timeout the job fails and the thread is left to
            # finish (its result is ignored); ctx.cancelled tells it to stop early.
            value = await asyncio.wait_for(asyncio.shield(future), timeout_s)
    except TimeoutError:
        ctx.cancelled.set()
        return failed("Timeout", f"handler ran longer than its timeout of {timeout_s:g}s")
    except Retry as exc:
        return Outcome(False, reason="Retry", error=str(exc), delay_ms=round(exc.delay * 1000))
    except PermanentFailure as exc:
        return failed("PermanentFailure", _error_text(exc), permanent=True)
    except asyncio.CancelledError:
        ctx.cancelled.set()
        raise
    except Exception as exc:
        return failed(type(exc).__name__, _error_text(exc))
    try:
        result = (
            json.dumps(value, separators=(",", ":"), allow_nan=False) if value is not None else ""
        )
    except (TypeError, ValueError) as exc:
        return failed("UnserialisableResult", f"result is not JSON: {exc}", permanent=True)
    return Outcome(True, result=result)
