"""HTML rendering: the Jinja2 environment (every value autoescaped) and its display filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import jinja2

#: Most characters of a payload or result shown on a list row.
SNIPPET = 80
#: Most characters of one payload, result, name or error on the job page: a 1 MB payload
#: would otherwise be a 1 MB page (and more, indented).
SHOWN = 20_000


def age(ms: int | float | None) -> str:
    """A duration for people: 950ms, 42s, 3m 5s, 2h 10m, 4d 3h."""
    if ms is None:
        return "-"
    ms = max(0, int(ms))
    if ms < 1000:
        return f"{ms}ms"
    s = ms // 1000
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            return f"{s // size}{unit} {s % size // sub_size}{sub}"
    return f"{s // 60}m {s % 60}s" if s >= 60 else f"{s}s"


def when(ms: int | float | None) -> str:
    """A Unix-ms instant as UTC text."""
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):  # a foreign record's time past year 9999
        return f"{ms} ms (not a date)"


def rate(per_s: float | None) -> str:
    if per_s is None:
        return "-"
    if per_s < 10:
        return f"{per_s:.2f}/s"
    return f"{per_s:.1f}/s" if per_s < 100 else f"{per_s:,.0f}/s"


def pretty(value: Any) -> str:
    """A payload or result as indented JSON (the template escapes it)."""
    try:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def snippet(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def clip(text: str, whole: str = "") -> str:
    """``text`` up to SHOWN characters, then how many more there are and where to read them."""
    if len(text) <= SHOWN:
        return text
    where = f" ({whole} shows them all)" if whole else ""
    return f"{text[:SHOWN]}\n… {len(text) - SHOWN:,} more characters{where}"


def error_line(text: str | None) -> str:
    """The line that names an error: a traceback's last one."""
    return text.strip().splitlines()[-1] if text and text.strip() else ""


def job_url(job_id: str, queue: str) -> str:
    """The job page's address: its id as one path segment (a slash encoded), or as a query
    parameter when it is a dot segment, which browsers resolve away even percent-encoded."""
    if job_id in (".", ".."):
        return f"/queues/{quote(queue, safe='')}/job?{urlencode({'id': job_id})}"
    return f"/queues/{quote(queue, safe='')}/jobs/{quote(job_id, safe='')}"


def dependency_link(ref: str, queue: str) -> tuple[str, str]:
    """A dependency or dependant as (address, text): one of another queue is stored as
    "<queue> <id>" (neither has a space) and shown as "<id> (queue <queue>)"."""
    other, sep, job_id = ref.partition(" ")
    if not sep:
        return job_url(ref, queue), ref
    return job_url(job_id, other), f"{job_id} (queue {other})"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dashboard", "templates"),
        # Every value a job carries (name, payload, error, reason) is foreign text.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        age=age,
        when=when,
        rate=rate,
        pretty=pretty,
        snippet=snippet,
        clip=clip,
        error_line=error_line,
        job_url=job_url,
    )
    env.globals["dependency_link"] = dependency_link
    return env
