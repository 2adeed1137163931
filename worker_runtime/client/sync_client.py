"""``SyncClient``: the ``Client``'s methods, blocking, on a private event loop thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Sequence
from concurrent.futures import Future
from typing import Any, Concatenate, ParamSpec, TypeVar

from worker_runtime.client.async_client import Client
from worker_runtime.engine import operation
from worker_runtime.engine.connection import DEFAULT_URL
from worker_runtime.models import JobEvent

P = ParamSpec("P")
R = TypeVar("R")


async def _next_event(stream: AsyncGenerator[JobEvent, None]) -> JobEvent:
    return await anext(stream)


async def _close_stream(stream: AsyncGenerator[JobEvent, None]) -> None:
    """Unsubscribes, once a step cancelled from another thread has finished unwinding."""
    while getattr(stream, "ag_running", False):
        await asyncio.sleep(0.01)
    await stream.aclose()


def _blocking(
    method: Callable[Concatenate[Client, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[SyncClient, P], R]:
    def call(self: SyncClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._call(method(self._client, *args, **kwargs))

    call.__doc__ = method.__doc__
    call.__name__ = method.__name__
    return call


class SyncClient:
    """The blocking twin of ``Client``: same methods, same arguments."""

    def __init__(self, url: str = DEFAULT_URL, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        try:
            self._client = self._call(self._make(url, options))
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            raise

    @staticmethod
    async def _make(url: str, options: dict[str, Any]) -> Client:
        return Client.from_url(url, **options)

    @classmethod
    def from_url(cls, url: str = DEFAULT_URL, **options: Any) -> SyncClient:
        return cls(url, **options)

    def _call(self, coro: Coroutine[Any, Any, R]) -> R:
        future: Future[R] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result()

    def run(self, op: operation.Op[R]) -> R:
        """Runs one engine operation (tests, tools); see worker_runtime.engine.writes."""
        return self._call(self._client.store.run(op))

    def events(self, queues: Sequence[str]) -> Generator[JobEvent, None, None]:
        """Client.events, blocking: one event per iteration; closing the iterator (or
        leaving the loop) unsubscribes."""
        stream = self._client.events(queues)
        try:
            while True:
                step = asyncio.run_coroutine_threadsafe(_next_event(stream), self._loop)
                try:
                    yield step.result()
                except StopAsyncIteration:
                    return
                except BaseException:  # Ctrl-C in the caller's thread: stop the step too
                    step.cancel()
                    raise
        finally:
            with contextlib.suppress(Exception):
                self._call(_close_stream(stream))

    def close(self) -> None:
        if self._loop.is_running():
            self._call(self._client.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    enqueue = _blocking(Client.enqueue)
    enqueue_many = _blocking(Client.enqueue_many)
    get_job = _blocking(Client.get_job)
    cancel = _blocking(Client.cancel)
    wait = _blocking(Client.wait)
    retry = _blocking(Client.retry)
    retry_dead = _blocking(Client.retry_dead)
    purge = _blocking(Client.purge)
    purge_dead = _blocking(Client.purge_dead)
    dead_letters = _blocking(Client.dead_letters)
    list_jobs = _blocking(Client.list_jobs)
    require_queue = _blocking(Client.require_queue)
    delete_queue = _blocking(Client.delete_queue)
    stats = _blocking(Client.stats)
    queues = _blocking(Client.queues)
    config = _blocking(Client.config)
    configure = _blocking(Client.configure)
    define_limiter = _blocking(Client.define_limiter)
    pause = _blocking(Client.pause)
    resume = _blocking(Client.resume)
    add_schedule = _blocking(Client.add_schedule)
    remove_schedule = _blocking(Client.remove_schedule)
    schedules = _blocking(Client.schedules)
    get_schedule = _blocking(Client.get_schedule)
    trigger_schedule = _blocking(Client.trigger_schedule)
    suspend_schedule = _blocking(Client.suspend_schedule)
    resume_schedule = _blocking(Client.resume_schedule)
