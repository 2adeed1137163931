"""Runs one claimed job's handler with its timeout and turns what happened into an outcome."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

from worker_runtime.control import PermanentFailure, Retry
from worker_runtime.engine.operation import loads
from worker_runtime.handlers import Handler
from worker_runtime.models import ClaimedJob

_CREATE_LOCK = threading.Lock()

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
    _cancel_event: threading.Event | None = field(default=None, repr=False)
    #: Sends a progress report of this job (the worker's, shared by every job).
    _reporter: Callable[[JobContext, float, str], None] | None = field(default=None, repr=False)

    @property
    def cancelled(self) -> threading.Event:
        """Set when the job was cancelled, its lease was lost, it timed out, or the worker is
        stopping; long sync handlers should check it and return early."""
        # Created on first use: most jobs never look, and an Event costs a lock and a
        # condition. The lock makes the handler thread and the loop agree on one Event.
        if self._cancel_event is None:
            with _CREATE_LOCK:
                if self._cancel_event is None:
                    self._cancel_event = threading.Event()
        return self._cancel_event

    def progress(self, percent: float, message: str = "") -> None:
        """Reports progress (0-100) shown by ``job info``; callable from async and sync
        handlers, never blocks (the write happens in the background, latest wins)."""
        if not 0 <= percent <= 100:
            raise ValueError("progress: percent must be from 0 to 100")
        if self._reporter is not None:
            self._reporter(self, percent, message[:500])


@dataclass(frozen=True)
class BatchItem:
    """One job of a batch handler's list."""

    id: str
    payload: Any
    ctx: JobContext


@dataclass(frozen=True)
class Outcome:
    ok: bool
    result: str = ""
    reason: str = ""
    error: str = ""
    permanent: bool = False
    #: Milliseconds, when the handler asked for a specific retry delay.
    delay_ms: int = -1


def error_text(exc: BaseException) -> str:
    """The exception's own line first (``ValueError: kaboom``: what lists show), then its
    traceback, cut to ERROR_CHARS: a long traceback loses its tail, never the error."""
    line = "".join(traceback.format_exception_only(exc)).strip()
    return (line + "\n" + "".join(traceback.format_exception(exc)))[:ERROR_CHARS]


def failed(reason: str, error: str, *, permanent: bool = False) -> Outcome:
    return Outcome(False, reason=reason, error=error[:ERROR_CHARS], permanent=permanent)


async def execute(
    handler: Handler,
    job: ClaimedJob,
    ctx: JobContext,
    timeout_s: float,
    pool: Executor,
    *,
    timeout_watched: bool = False,
    processes: bool = False,
) -> Outcome:
    """Runs the handler; never raises except CancelledError (lease lost, shutdown, or a
    timeout enforced by the caller when ``timeout_watched``: one timer per job costs a
    busy worker more than one shared deadline heap)."""
    try:
        payload = loads(job.raw_payload)
    except ValueError as exc:
        return failed("Undecodable", f"payload is not valid JSON: {exc}", permanent=True)
    args: tuple[Any, ...] = (payload, ctx) if handler.wants_context else (payload,)
    try:
        if handler.is_async and timeout_watched:
            value = await handler.func(*args)
        elif handler.is_async:
            value = await asyncio.wait_for(handler.func(*args), timeout_s)
        elif processes:
            # Imported here: multiprocessing (and pickle) cost every other worker ~1.5 MB.
            from worker_runtime.worker import childproc

            child_args = (payload, replace(ctx, _reporter=None)) if handler.wants_context else args
            try:
                value = await childproc.run_in_child(handler.func, child_args, timeout_s)
            except childproc.ChildFailed as exc:
                return failed(exc.kind, exc.text or str(exc))
        else:
            call = contextvars.copy_context().run
            future = asyncio.get_running_loop().run_in_executor(pool, call, handler.func, *args)
            # A thread cannot be killed: on timeout the job fails and the thread is left to
            # finish (its result is ignored); ctx.cancelled tells it to stop early.
            value = await asyncio.wait_for(asyncio.shield(future), timeout_s)
    except TimeoutError:
        ctx.cancelled.set()
        return failed("Timeout", f"handler ran longer than its timeout of {timeout_s:g}s")
    except asyncio.CancelledError:
        ctx.cancelled.set()
        raise
    except Exception as exc:
        return _classify(exc)
    return _classify(value)


#: The outcome of every handler that returns None: one object, not one per job.
_OK = Outcome(True)


def _classify(value: Any) -> Outcome:
    if value is None:
        return _OK
    if isinstance(value, Retry):
        return Outcome(False, reason="Retry", error=str(value), delay_ms=round(value.delay * 1000))
    if isinstance(value, PermanentFailure):
        return failed("PermanentFailure", error_text(value), permanent=True)
    if isinstance(value, BaseException):
        return failed(type(value).__name__, error_text(value))
    try:
        result = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return failed("UnserialisableResult", f"result is not JSON: {exc}", permanent=True)
    return Outcome(True, result=result)


async def execute_batch(
    handler: Handler, items: list[BatchItem], timeout_s: float, pool: Executor
) -> list[Outcome]:
    """Runs a batch handler; one outcome per item, in order."""
    try:
        if handler.is_async:
            values = await asyncio.wait_for(handler.func(items), timeout_s)
        else:
            call = contextvars.copy_context().run
            future = asyncio.get_running_loop().run_in_executor(pool, call, handler.func, items)
            values = await asyncio.wait_for(asyncio.shield(future), timeout_s)
    except TimeoutError:
        for item in items:
            item.ctx.cancelled.set()
        return [failed("Timeout", f"batch ran longer than {timeout_s:g}s")] * len(items)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return [_classify(exc)] * len(items)
    if values is None:
        values = [None] * len(items)
    if not isinstance(values, list) or len(values) != len(items):
        error = failed("BadBatchResult", "a batch handler must return one result per item")
        return [error] * len(items)
    return [_classify(v) for v in values]
