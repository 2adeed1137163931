"""Runs a sync handler in a forked child process that can be killed on timeout.

Threads cannot be stopped, so a sync handler that hangs holds its thread for good; in
process mode each job runs in its own child, killed when its time is up. The child sends
its outcome back as JSON over a pipe (never pickle).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from worker_runtime.control import PermanentFailure, Retry


class ChildFailed(Exception):
    """The handler raised in the child; ``kind`` is its exception type's name."""

    def __init__(self, kind: str, message: str, text: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.text = text


def _child(conn: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        value = func(*args)
        message: dict[str, Any] = {"ok": True, "value": value}
    except Retry as exc:
        message = {"ok": False, "retry": exc.delay, "error": str(exc)}
    except PermanentFailure as exc:
        message = {
            "ok": False,
            "permanent": True,
            "error": str(exc),
            "text": "".join(traceback.format_exception(exc)),
        }
    except BaseException as exc:
        message = {
            "ok": False,
            "kind": type(exc).__name__,
            "error": str(exc),
            "text": "".join(traceback.format_exception(exc)),
        }
    try:
        conn.send_bytes(json.dumps(message, default=repr).encode())
    finally:
        conn.close()
        os._exit(0)  # skip the parent's atexit handlers and buffers inherited by fork


async def run_in_child(func: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> Any:
    """The handler's return value; raises Retry, PermanentFailure, ChildFailed, or
    TimeoutError (after killing the child)."""
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(writer, func, args), daemon=True)
    proc.start()
    writer.close()
    loop = asyncio.get_running_loop()
    try:
        ready = await loop.run_in_executor(None, reader.poll, timeout_s)
        if not ready:
            raise TimeoutError
        try:
            message = json.loads(reader.recv_bytes())
        except EOFError:
            raise ChildFailed("WorkerLost", "the child process died", "") from None
    finally:
        if proc.is_alive():
            proc.kill()
        await loop.run_in_executor(None, proc.join)
        reader.close()
    if message["ok"]:
        return message["value"]
    if "retry" in message:
        raise Retry(delay=float(message["retry"]), message=message["error"])
    if message.get("permanent"):
        raise PermanentFailure(message["error"])
    raise ChildFailed(message["kind"], message["error"], message.get("text", ""))
