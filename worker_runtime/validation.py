"""Checks of names and ids shared by the client, the worker and the CLI."""

from __future__ import annotations

import re

from worker_runtime.errors import InvalidArgumentError
from worker_runtime.keys import QUEUE_NAME

_JOB_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


def check_queue_name(name: str) -> None:
    if not isinstance(name, str) or not QUEUE_NAME.match(name):
        raise InvalidArgumentError(
            f"queue: {name!r} is not a queue name; use 1-100 letters, digits or . _ : -"
        )


def check_job_name(name: str) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= 200 or "\n" in name:
        raise InvalidArgumentError(f"job name: {name!r} must be 1-200 characters on one line")


def check_job_id(job_id: str) -> None:
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise InvalidArgumentError(
            f"job id: {job_id!r} must be 1-200 printable characters without spaces"
        )


_RATE_KEY = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")


def check_rate_key(key: str) -> None:
    if not isinstance(key, str) or not _RATE_KEY.match(key):
        raise InvalidArgumentError(
            f"rate_key: {key!r} must be 1-200 letters, digits or . _ : @ / + = -"
        )
