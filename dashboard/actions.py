"""The POST actions: each checks the guard, calls the client as the CLI does, and reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from dashboard import state
from dashboard.security import CSRF_FIELD, SESSION_COOKIE, SESSION_TTL_S, matches
from worker_runtime.client import Client
from worker_runtime.errors import InvalidArgumentError, QueueError

FLASH_COOKIE = "brq_flash"


class MissingFieldError(Exception):
    """A form lacks a field its action needs (a KeyError raised deeper is not one)."""


class Form(dict[str, str]):
    """A posted form: reading a field it lacks raises MissingFieldError."""

    def __missing__(self, key: str) -> str:
        raise MissingFieldError(key)


Action = Callable[[Client, Form], Awaitable[str]]


async def _pause(client: Client, form: Form) -> str:
    queue = form["queue"]
    await client.require_queue(queue)  # pausing a mistyped name would create a queue
    await client.pause(queue)
    return f"queue {queue} paused"


async def _resume(client: Client, form: Form) -> str:
    queue = form["queue"]
    await client.require_queue(queue)
    await client.resume(queue)
    return f"queue {queue} resumed"


async def _retry_job(client: Client, form: Form) -> str:
    await client.retry(form["job"], form["queue"])
    return f"job {form['job']} sent back to pending"


async def _cancel_job(client: Client, form: Form) -> str:
    outcome = await client.cancel(form["job"], form["queue"])
    return f"job {form['job']}: {outcome}"


async def _retry_dead(client: Client, form: Form) -> str:
    await client.require_queue(form["queue"])
    n = await client.retry_dead(form["queue"])
    return f"{n} dead jobs of {form['queue']} sent back to pending"


async def _purge_dead(client: Client, form: Form) -> str:
    if form.get("confirm") != "yes":  # irreversible: the form's box, or a script's field
        raise InvalidArgumentError("purge: not confirmed (send confirm=yes)", field="confirm")
    await client.require_queue(form["queue"])
    n = await client.purge(form["queue"], ["dead"])
    return f"{n} dead jobs of {form['queue']} purged"


async def _trigger(client: Client, form: Form) -> str:
    run = await client.trigger_schedule(form["schedule"])
    return f"schedule {form['schedule']} triggered: job {run.id}"


async def _suspend(client: Client, form: Form) -> str:
    changed = await client.suspend_schedule(form["schedule"])
    return f"schedule {form['schedule']} " + ("suspended" if changed else "was already suspended")


async def _unsuspend(client: Client, form: Form) -> str:
    changed = await client.resume_schedule(form["schedule"])
    return f"schedule {form['schedule']} " + ("resumed" if changed else "was not suspended")


ACTIONS: dict[str, Action] = {
    "pause": _pause,
    "resume": _resume,
    "retry-job": _retry_job,
    "cancel-job": _cancel_job,
    "retry-dead": _retry_dead,
    "purge-dead": _purge_dead,
    "trigger-schedule": _trigger,
    "suspend-schedule": _suspend,
    "resume-schedule": _unsuspend,
}


def safe_back(target: str) -> str:
    """Where to go after an action: a path on this site only (never //host or a scheme).

    URL parsers drop tabs and newlines, so "/\\t/evil.example" would become //evil.example;
    the pages send their raw (percent-encoded) path, which has no such characters."""
    clean = target.isascii() and target.isprintable() and " " not in target
    ok = clean and "\\" not in target and target.startswith("/") and not target.startswith("//")
    return target if ok else "/"


async def act(request: web.Request) -> web.StreamResponse:
    name = request.match_info["action"]
    if name not in ACTIONS:
        raise web.HTTPNotFound(text=f"no action {name!r}")
    form = Form({k: str(v) for k, v in (await request.post()).items()})
    guard = request.app[state.GUARD]
    refused = guard.refusal(request, form)
    if refused is not None:
        raise web.HTTPForbidden(text=f"403 forbidden: {refused}")
    try:
        message, ok = await ACTIONS[name](request.app[state.CLIENT], form), True
    except MissingFieldError as exc:
        raise web.HTTPBadRequest(text=f"missing form field {exc.args[0]!r}") from None
    except QueueError as exc:
        message, ok = str(exc), False
    request.app[state.SNAPSHOT].invalidate()
    if guard.bearer(request):  # a script: the result, no page to return to
        return web.json_response({"ok": ok, "message": message}, status=200 if ok else 409)
    response = web.HTTPSeeOther(safe_back(form.get("back", "/")))
    # Signed: a cookie set by anything else (a sibling subdomain, a script) cannot put
    # words on the page in the dashboard's name.
    flash = guard.seal(quote(("ok:" if ok else "error:") + message[:500]))
    response.set_cookie(FLASH_COOKIE, flash, httponly=True, samesite="Strict")
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    guard = request.app[state.GUARD]
    if not guard.writable:
        raise web.HTTPForbidden(text="403 forbidden: this dashboard is read-only")
    session = guard.session_for(str(form.get("token", "")))
    if session is None:
        raise web.HTTPForbidden(text="403 forbidden: wrong token")
    # Behind a TLS-terminating proxy the hop to us is plain HTTP: trust its word for the
    # flag (a forged header only makes the forger's own cookie stricter).
    secure = request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        SESSION_COOKIE,
        session,
        httponly=True,
        samesite="Strict",
        secure=secure,
        max_age=SESSION_TTL_S,
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    guard = request.app[state.GUARD]
    if not matches(str(form.get(CSRF_FIELD, "")), guard.csrf_for(request)):
        raise web.HTTPForbidden(text="403 forbidden: missing or wrong CSRF token")
    session = guard.session(request)
    if session is not None:
        guard.sign_out(session)  # a copy of the cookie is refused too
    response = web.HTTPSeeOther("/")
    response.del_cookie(SESSION_COOKIE)
    return response
