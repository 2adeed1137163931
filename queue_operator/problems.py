"""The one answer a reconcile step gives when it cannot give its result: what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from worker_runtime.errors import InvalidArgumentError


@dataclass(frozen=True)
class Problem:
    """Why a custom resource cannot be served (yet), in the words its conditions use."""

    #: The condition reason, CamelCase: InvalidSpec, QueueNotFound, RedisSecretMissing...
    reason: str
    #: What is wrong and what to do, for the user (condition message and Event).
    message: str
    #: The resource's field at fault (``spec.rateLimit``, ``metadata.name``), when one is.
    field: str | None = None


def engine_problem(exc: InvalidArgumentError, fields: Mapping[str, str]) -> Problem:
    """The engine's complaint about one of its fields, told about the resource's field.

    ``fields`` maps the engine's name of a field (``exc.field``) to the resource's. An
    error about a field outside ``fields`` keeps the engine's own words.
    """
    where = fields.get(exc.field or "")
    if where is None:
        return Problem("InvalidSpec", str(exc))
    # The engine's message begins with its own name of the field ("time zone: ..."):
    # the resource's name takes its place.
    detail = str(exc).partition(": ")[2]
    return Problem("InvalidSpec", f"{where}: {detail}", where)
