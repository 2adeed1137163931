"""Types every reconcile plan shares: events, object metadata, spec parsing, time formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import pydantic

from queue_operator.conditions import Cond, get_condition, set_conditions
from queue_operator.problems import Problem

JSON = dict[str, Any]
M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Meta:
    """The parts of metadata a reconcile needs."""

    name: str
    namespace: str
    uid: str
    generation: int | None


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post about the resource."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def parse_spec(model: type[M], raw: JSON) -> M | Problem:
    """The validated spec, or an InvalidSpec problem naming the first offending field.

    The glue parses a spec once at the top of a pass and hands the result down.
    """
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        field = f"spec.{where}" if where else "spec"
        return Problem("InvalidSpec", f"{field}: {first['msg']}", field)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def transitioned(old_status: JSON, cond: Cond) -> bool:
    """Whether ``cond`` is news compared with the status on the object (for Events)."""
    previous = get_condition(old_status.get("conditions"), cond.type)
    return previous is None or (previous.get("status"), previous.get("reason")) != (
        cond.status,
        cond.reason,
    )


def with_conditions(
    old_status: JSON, new_fields: JSON, conds: list[Cond], now: datetime, generation: int | None
) -> JSON:
    """``new_fields`` plus the conditions and the Ready mirror, timestamps settled."""
    conditions = set_conditions(old_status.get("conditions"), conds, rfc3339(now), generation)
    ready = next((c["status"] == "True" for c in conditions if c["type"] == "Ready"), False)
    return {**new_fields, "conditions": conditions, "ready": ready}


def status_patch(old_status: JSON, new_status: JSON) -> JSON:
    """Only the fields that change (None deletes), so an unchanged status writes nothing."""
    patch: JSON = {k: v for k, v in new_status.items() if old_status.get(k) != v}
    return patch
