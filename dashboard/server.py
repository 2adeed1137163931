"""The aiohttp application: routes, security headers, and ``serve`` behind the CLI command."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from yarl import URL

from dashboard import actions, data, pages, state, views
from dashboard.security import Guard
from worker_runtime.client import Client
from worker_runtime.errors import RedisUnavailableError

STATIC = Path(__file__).parent / "static"
#: Scripts and styles from this origin only: even a value that escaped escaping could not
#: run inline script or load one from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The names a browser uses for a dashboard listening on loopback only.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def loopback(host: str) -> bool:
    """Whether ``--host`` binds loopback only ("" and 0.0.0.0 bind every interface)."""
    return host in LOOPBACK_HOSTS


def host_name(request: web.Request) -> str:
    """The Host header's name without its port, lower case ("" when it cannot be read)."""
    try:
        return (URL.build(scheme="http", authority=request.host).host or "").lower()
    except ValueError:
        return ""


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bound to loopback, serve loopback names only: a page whose name an attacker rebinds
    to 127.0.0.1 (DNS rebinding) would otherwise read every payload through a browser."""
    if host_name(request).strip("[]") not in LOOPBACK_HOSTS:
        raise web.HTTPMisdirectedRequest(text="421: this dashboard answers to localhost only")
    return await handler(request)


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    except RedisUnavailableError as exc:  # the page says so; the next refresh may succeed
        response = web.HTTPServiceUnavailable(text=f"503: Redis cannot serve now ({exc})")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException):
        raise response
    return response


def make_app(client: Client, guard: Guard, on_loopback: bool = False) -> web.Application:
    app = web.Application(middlewares=[headers, loopback_only] if on_loopback else [headers])
    app[state.CLIENT] = client
    app[state.GUARD] = guard
    app[state.VIEWS] = views.environment()
    app[state.SNAPSHOT] = data.Snapshot(client)
    app.router.add_get("/", pages.queues)
    app.router.add_get("/queues/{queue}", pages.queue)
    app.router.add_get("/queues/{queue}/jobs/{job}", pages.job)
    app.router.add_get("/queues/{queue}/job", pages.job)  # ?id=, for ids like ".."
    app.router.add_get("/workers", pages.workers)
    app.router.add_get("/schedules", pages.schedules)
    app.router.add_get("/login", pages.login_form)
    app.router.add_get("/api/overview", pages.overview)
    app.router.add_post("/login", actions.login)
    app.router.add_post("/logout", actions.logout)
    app.router.add_post("/actions/{action}", actions.act)
    app.router.add_static("/static", STATIC)
    return app


async def start(
    redis_url: str, host: str, port: int, guard: Guard
) -> tuple[web.AppRunner, Client, int]:
    """Starts serving; returns the runner, the client and the port (0 picks a free one)."""
    client = Client.from_url(redis_url)
    runner = web.AppRunner(make_app(client, guard, on_loopback=loopback(host)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, client, int(runner.addresses[0][1])


async def _serve(redis_url: str, host: str, port: int, guard: Guard) -> None:
    runner, client, bound = await start(redis_url, host, port, guard)
    mode = "actions allowed with the token" if guard.writable else "read-only"
    shown = "localhost" if host in ("", "0.0.0.0") else host
    print(f"dashboard: http://{shown}:{bound}/ ({mode})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await client.close()


def serve(redis_url: str, host: str, port: int, guard: Guard) -> None:
    """Runs the dashboard until Ctrl-C or SIGTERM."""
    asyncio.run(_serve(redis_url, host, port, guard))
