"""Checks of names and ids shared by the client, the worker and the CLI.

The patterns use ``fullmatch``: with ``match``, ``$`` also matches before a final newline.
"""

from __future__ import annotations

import re

from worker_runtime.errors import InvalidArgumentError
from worker_runtime.models import shown
from worker_runtime.names import QUEUE_NAME

_JOB_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


def check_queue_name(name: str) -> None:
    if not isinstance(name, str) or not QUEUE_NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"queue: {shown(name)} is not a queue name; use 1-100 letters, digits or . _ : -",
            field="queue",
        )


def check_job_name(name: str) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= 200 or "\n" in name:
        raise InvalidArgumentError(
            f"job name: {shown(name)} must be 1-200 characters on one line", field="job_name"
        )
    check_utf8(name, "job name", "job_name")


def check_utf8(text: str, what: str, field: str) -> None:
    """Refuses a lone surrogate (Python strings hold them; UTF-8, and so Redis, cannot)."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            raise InvalidArgumentError(
                f"{what}: {shown(text)} holds a lone surrogate, which UTF-8 cannot encode",
                field=field,
            ) from None


def check_job_id(job_id: str, field: str = "job_id") -> None:
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        what = "job id:" if field == "job_id" else f"{field}: job id"
        raise InvalidArgumentError(
            f"{what} {shown(job_id)} must be 1-200 printable characters without spaces",
            field=field,
        )


_RATE_KEY = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")


def check_rate_key(key: str) -> None:
    if not isinstance(key, str) or not _RATE_KEY.fullmatch(key):
        raise InvalidArgumentError(
            f"rate_key: {shown(key)} must be 1-200 letters, digits or . _ : @ / + = -",
            field="rate_key",
        )


_WEIGHTED = re.compile(r"^(?P<name>.+):(?P<weight>\d+(?:\.\d+)?)$")


def parse_queues(text: str) -> tuple[list[str], dict[str, float] | None]:
    """``a,b,c`` (strict order) or ``a:3,b:1`` (weighted; every queue needs a weight).
    A queue whose name ends in ``:<number>`` therefore needs a weight of its own."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise InvalidArgumentError("queues: give at least one queue, e.g. default", field="queues")
    matches = [_WEIGHTED.match(p) for p in parts]
    if any(matches) and not all(matches):
        raise InvalidArgumentError(
            "queues: give a weight to every queue (a:3,b:1) or to none", field="queues"
        )
    names = [m.group("name") if m else p for m, p in zip(matches, parts, strict=True)]
    for name in names:
        check_queue_name(name)
    if len(set(names)) != len(names):
        raise InvalidArgumentError("queues: a queue is listed twice", field="queues")
    if not all(matches):
        return names, None
    weights = {m.group("name"): float(m.group("weight")) for m in matches if m}
    if any(w <= 0 for w in weights.values()):
        raise InvalidArgumentError("queues: weights must be positive", field="queues")
    return names, weights
