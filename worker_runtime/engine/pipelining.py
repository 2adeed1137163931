"""Sends script calls on one pooled connection: a lone call at once, calls made while
one is on the wire together as the next write (auto-pipelining, as ioredis does); each
caller gets its own reply or error.

Every call is still one atomic EVALSHA and its caller's await ends only once Redis has
answered it, so "returned means stored" holds per call; only the round trip is shared.
A call whose caller was cancelled before its batch went out is not sent at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: One command in Redis's wire format (RESP), and the SHA of the script it calls (or "").
Command = tuple[str, bytes]


def encode(value: str | int | float | bytes) -> bytes:
    """One argument as redis-py's encoder sends it (numbers by ``repr``, text as UTF-8)."""
    if type(value) is str:
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"Invalid input of type: {type(value).__name__!r}")
    return repr(value).encode()


def bulk(values: Sequence[str | int | float | bytes]) -> bytes:
    """Arguments as RESP bulk strings, without the array header: what ``pack`` repeats."""
    out = []
    for value in values:
        if isinstance(value, str):  # the common kinds first, without a call
            data = value.encode()
        elif isinstance(value, int) and not isinstance(value, bool):
            data = b"%d" % value
        else:
            data = encode(value)
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


def _pack(args: tuple[str | int | float | bytes, ...]) -> bytes:
    return b"*%d\r\n%b" % (len(args), bulk(args))


_packer: Callable[[tuple[Any, ...]], bytes] = _pack
try:  # hiredis (redis-py's parser) packs a command three times as fast
    import hiredis

    _packer = hiredis.pack_command
except ImportError:  # pragma: no cover - hiredis is a dependency (redis[hiredis])
    pass


def pack(*args: str | int | float | bytes) -> bytes:
    """A whole command in RESP, byte for byte as redis-py sends it (its own
    ``pack_command`` costs ten times as much)."""
    return _packer(args)


class Exchange:
    """Round trips of packed commands on a connection of ``client``'s pool; a script
    unknown to the server (NOSCRIPT: a restart, SCRIPT FLUSH) is loaded and its calls
    sent again, which is safe since a NOSCRIPT call ran nothing.

    With ``hold`` it keeps one connection between calls (the pool's checkout costs as much
    as a small script call), for a caller that sends one batch at a time."""

    def __init__(
        self, client: aredis.Redis, source_of: Callable[[str], str], *, hold: bool = False
    ) -> None:
        self.client = client
        #: The Lua source of a SHA this process sent (for the NOSCRIPT reload).
        self.source_of = source_of
        self.hold = hold
        self._held: AbstractConnection | None = None
        #: The held connection's socket timeout, kept here as one deadline per batch.
        self._deadline_s: float | None = None
        #: When the batch in flight is due (None: none is), and the timer that checks.
        self._due: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False
        self._closing: set[asyncio.Task[None]] = set()

    async def __call__(self, commands: Sequence[Command]) -> list[Any]:
        """The replies in order; an error reply comes back as its ``ResponseError``.
        Connection errors are retried by the connection's retry policy, as redis-py
        retries a pipeline, and raised when it gives up."""
        pool = self.client.connection_pool
        conn = self._held or await pool.get_connection()  # type: ignore[no-untyped-call]
        if self.hold and self._held is None:
            # redis-py bounds each write and read with asyncio.wait_for and a timeout, a
            # task and a timer per command: half the client's cost of a small call. The
            # held connection goes without; its batches have a deadline each (``_send``).
            self._held = conn
            self._deadline_s = conn.socket_timeout
            conn.socket_timeout = None
        try:
            return await conn.retry.call_with_retry(
                lambda: self._send(conn, commands), lambda _error: conn.disconnect()
            )
        finally:
            if not self.hold:
                await pool.release(conn)

    async def _send(self, conn: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
        if self._deadline_s is None:
            return await self._send_now(conn, commands)
        loop = asyncio.get_running_loop()
        self._due = loop.time() + self._deadline_s
        if self._timer is None:
            self._timer = loop.call_at(self._due, self._expire, conn)
        try:
            return await self._send_now(conn, commands)
        except RedisConnectionError as exc:
            if self._expired:  # ``_expire`` closed the connection: say why
                raise RedisTimeoutError(f"no reply within {self._deadline_s} s") from exc
            raise
        finally:
            self._due = None
            self._expired = False

    def _expire(self, conn: AbstractConnection) -> None:
        """The deadline of the batch in flight: one timer re-armed at most once per
        ``_deadline_s``, rather than one per batch (asyncio.timeout costs as much as a
        fifth of a small call). Closing the connection ends the read with an error."""
        self._timer = None
        if self._due is None:
            return  # idle: the next batch arms it again
        loop = asyncio.get_running_loop()
        if loop.time() < self._due:
            self._timer = loop.call_at(self._due, self._expire, conn)
            return
        self._expired = True
        closing = loop.create_task(conn.disconnect(nowait=True))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _send_now(self, conn: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
        replies = await _round_trip(conn, commands)
        missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if missing:
            shas = dict.fromkeys(commands[i][0] for i in missing)
            loads = [("", pack("SCRIPT", "LOAD", self.source_of(sha))) for sha in shas]
            for error in await _round_trip(conn, loads):
                if isinstance(error, ResponseError):
                    raise error
            again = await _round_trip(conn, [commands[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        return replies


async def _round_trip(conn: AbstractConnection, commands: Sequence[Command]) -> list[Any]:
    try:
        if not conn.is_connected:
            # Its own connect, not the one a write would make: behind Sentinel it asks for
            # the master again (a write's reconnects the address it had, after a failover
            # the old master, a replica now).
            await conn.connect()  # type: ignore[no-untyped-call]
        await conn.send_packed_command(b"".join(data for _, data in commands))
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(await conn.read_response())
            except ResponseError as exc:  # read in full: the connection stays in step
                replies.append(exc)
        return replies
    except BaseException:
        # Replies left unread (a timeout, a cancellation) would answer the next caller.
        await conn.disconnect(nowait=True)
        raise


class AutoPipeline:
    """Sends a call at once when nothing is on the wire; otherwise collects calls until
    the batch on the wire is answered: one batch at a time, the next one gathering while
    the current one is out."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self._waiting: list[tuple[Command, asyncio.Future[Any]]] = []
        self._sending = False
        self._tasks: set[asyncio.Task[None]] = set()
        #: Batches sent so far (what tests and profiles compare with calls made).
        self.batches = 0

    async def send(self, command: Command) -> Any:
        """The command's reply (its error reply raised). With nothing on the wire the
        caller writes it itself, saving a task, a future and two event-loop turns (a
        sixth of the client's cost of a lone enqueue); calls made meanwhile gather for
        the next batch, which goes out as soon as this reply is read. A caller cancelled
        while awaiting its reply drops the connection (the next call reconnects), as
        redis-py does: its call may or may not have run, as for any cancelled call."""
        if self._sending:
            return await self.call(command)
        self._sending = True
        self.batches += 1
        try:
            reply = (await self.exchange([command]))[0]
        finally:
            if self._waiting:
                self._start(asyncio.get_running_loop())
            else:
                self._sending = False
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    def call(self, command: Command) -> asyncio.Future[Any]:
        """A future of the command's reply (or its error), sent with the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((command, future))
        if not self._sending:
            self._sending = True
            self._start(loop)
        return future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # The task's first step runs after every callback ready now: the calls of this
        # tick join the batch.
        task = loop.create_task(self._send_all())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_all(self) -> None:
        try:
            while self._waiting:
                batch = [(c, f) for c, f in self._waiting if not f.done()]
                self._waiting = []
                if batch:
                    await self._send(batch)
        finally:
            self._sending = False
            for _, future in self._waiting:  # only when cancelled (the loop closing)
                future.cancel()
            self._waiting = []

    async def _send(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        self.batches += 1
        try:
            replies = await self.exchange([c for c, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every caller of the batch learns why
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)
