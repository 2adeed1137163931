"""The GET pages: each reads what it shows through ``data`` and renders one template."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aiohttp import web

from dashboard import data, pools, state
from dashboard.actions import FLASH_COOKIE
from worker_runtime.client import Client
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import InvalidArgumentError, QueueNotFoundError
from worker_runtime.models import JobState

#: Tabs of a queue page: the states in the engine's order.
STATES = tuple(str(s) for s in JobState)


def render(request: web.Request, template: str, **context: Any) -> web.Response:
    guard = request.app[state.GUARD]
    sealed = request.cookies.get(FLASH_COOKIE, "")
    flash = unquote(guard.unseal(sealed) or "") if sealed else ""
    kind, _, message = flash.partition(":")
    page = (
        request.app[state.VIEWS]
        .get_template(template)
        .render(
            writable=guard.writable,
            signed_in=guard.session(request) is not None,
            csrf=guard.csrf_for(request),
            back=request.rel_url.raw_path_qs,  # decoded, an id with ? or # would break it
            flash=message,
            flash_ok=kind == "ok",
            **context,
        )
    )
    response = web.Response(text=page, content_type="text/html")
    if sealed:
        response.del_cookie(FLASH_COOKIE)  # shown once (or never, when not ours)
    return response


def _client(request: web.Request) -> Client:
    return request.app[state.CLIENT]


def _queue(request: web.Request) -> str:
    name = request.match_info["queue"]
    try:
        check_queue_name(name)
    except InvalidArgumentError:
        raise web.HTTPNotFound(text="no such queue") from None
    return name


def _int(request: web.Request, key: str, default: int, allowed: range) -> int:
    try:
        value = int(request.query.get(key, default))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{key}: not a number") from None
    if value not in allowed:
        raise web.HTTPBadRequest(text=f"{key}: out of range")
    return value


async def queues(request: web.Request) -> web.Response:
    rows = await request.app[state.SNAPSHOT].queues()
    return render(request, "queues.html", rows=rows)


async def queue(request: web.Request) -> web.Response:
    name = _queue(request)
    rows = {r.stats.queue: r for r in await request.app[state.SNAPSHOT].queues()}
    row = rows.get(name)
    if row is None:  # created since the last refresh, or unknown
        try:
            row = await data.queue_row(_client(request), name)
        except QueueNotFoundError:
            raise web.HTTPNotFound(text="no such queue") from None
    tab = request.query.get("state", "pending")
    if tab not in STATES:
        raise web.HTTPBadRequest(text="state: unknown")
    limit = _int(request, "limit", 50, range(1, max(data.PAGE_SIZES) + 1))
    offset = _int(request, "offset", 0, range(0, 2**53))
    page = await data.job_page(_client(request), name, tab, offset, limit)
    return render(request, "queue.html", row=row, page=page, states=STATES, queue=name)


async def job(request: web.Request) -> web.Response:
    name = _queue(request)
    job_id = request.match_info.get("job") or request.query.get("id", "")
    found = await _client(request).get_job(job_id, name) if job_id else None
    if found is None:
        raise web.HTTPNotFound(text="no such job")
    return render(request, "job.html", job=found, queue=name)


async def workers(request: web.Request) -> web.Response:
    rows = await data.workers(_client(request))
    return render(request, "workers.html", workers=rows, pools=await pools.worker_pools())


async def schedules(request: web.Request) -> web.Response:
    found = await _client(request).schedules()
    return render(request, "schedules.html", schedules=found)


async def login_form(request: web.Request) -> web.Response:
    return render(request, "login.html")


async def overview(request: web.Request) -> web.Response:
    """The live figures, polled by static/live.js: {queue: {field: display text}}."""
    rows = await request.app[state.SNAPSHOT].queues()
    return web.json_response({r.stats.queue: r.live() for r in rows})
