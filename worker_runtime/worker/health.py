"""The worker's HTTP endpoints: /metrics (Prometheus), /healthz (alive), /readyz (ready),
and the watchdog that clears readiness when Redis stops answering.

A few lines on asyncio streams rather than aiohttp: the probes and one scrape are all it
serves, and aiohttp alone would add about 20 MB to every worker's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

#: Longest request head read; probes and scrapes send a few hundred bytes.
MAX_HEAD = 16_384


class HealthServer:
    def __init__(self, server: asyncio.Server) -> None:
        self.server = server

    async def cleanup(self) -> None:
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 2)


def _response(status: str, body: bytes, content_type: str = "text/plain") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def start_health_server(
    port: int, registry: CollectorRegistry, ready: Callable[[], bool], host: str = "0.0.0.0"
) -> HealthServer:
    # Here, not at the top: the watchdog is every worker's, prometheus_client only theirs
    # that serve /metrics.
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, path, *_ = head[:MAX_HEAD].decode("latin-1").split(" ", 2)
            path = path.split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                reply = _response("405 Method Not Allowed", b"GET only\n")
            elif path == "/metrics":
                reply = _response("200 OK", generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                reply = _response("200 OK", b"ok\n")
            elif path == "/readyz":
                reply = (
                    _response("200 OK", b"ready\n")
                    if ready()
                    else _response("503 Service Unavailable", b"not ready\n")
                )
            else:
                reply = _response("404 Not Found", b"try /metrics, /healthz or /readyz\n")
            writer.write(reply)
            await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
            ConnectionError,
        ):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port, limit=MAX_HEAD)
    return HealthServer(server)


class Watchdog:
    """Readiness from the age of the last successful round trip to Redis.

    The commands themselves notice a silent partition only after their whole retry chain
    (a timeout, then reconnects that time out too): 15 s or more. The watchdog pings while
    nothing else succeeded lately, and says "not ready" once no round trip succeeded for
    ``limit_s``."""

    def __init__(self, limit_s: float, interval_s: float = 1.0) -> None:
        self.limit_s = limit_s
        self.interval_s = interval_s
        self.last_ok = time.monotonic()

    def ok(self) -> None:
        """A round trip to Redis just succeeded."""
        self.last_ok = time.monotonic()

    def fresh(self) -> bool:
        return time.monotonic() - self.last_ok <= self.limit_s

    async def run(self, ping: Callable[[], Awaitable[object]], closing: Callable[[], bool]) -> None:
        """Pings whenever nothing succeeded for ``interval_s``, until ``closing()``."""
        while not closing():
            await asyncio.sleep(self.interval_s / 2)
            if time.monotonic() - self.last_ok < self.interval_s:
                continue
            try:
                await asyncio.wait_for(ping(), self.limit_s)
            except Exception:  # any failed ping (timeout, refusal, reset) is simply not ok
                continue
            self.ok()
