"""The Schedule resource: a cron schedule that enqueues a job into a JobQueue on each tick."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from queue_operator.models.common import K8S_NAME, CRModel, StatusBase

#: Five-field cron (minute hour day month weekday), six with leading seconds, or a macro.
CRON_PATTERN = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|[0-9*,/A-Za-z?-]+( +[0-9*,/A-Za-z?-]+){4,5})$"
)


class ScheduleSpec(CRModel):
    """When to enqueue which job where."""

    cron: str = Field(
        description="Cron expression: five fields (minute hour day-of-month month "
        "day-of-week), six with a leading seconds field, or @hourly, @daily, @weekly, "
        "@monthly, @yearly.",
        max_length=128,
        pattern=CRON_PATTERN,
    )
    time_zone: str = Field(
        "UTC",
        description="IANA time zone the cron expression is read in, e.g. Europe/Berlin.",
        max_length=64,
        pattern=r"^[A-Za-z0-9_+/-]+$",
    )
    queue: str = Field(
        description="A JobQueue in this namespace (its engine queue receives the jobs).",
        max_length=253,
        pattern=K8S_NAME,
    )
    job_name: str = Field(
        description="Handler name of the job, e.g. maintenance:cleanup.",
        max_length=200,
        pattern=r"^[A-Za-z0-9._:/-]+$",
    )
    payload: dict[str, Any] | None = Field(
        None,
        description="JSON object passed to the handler.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    priority: int = Field(5, ge=0, le=10, description="Job priority, 0 (first) to 10 (last).")
    suspend: bool = Field(False, description="Fire nothing while true (missed ticks are skipped).")
    concurrency_policy: Literal["Allow", "Forbid"] = Field(
        "Allow",
        description="Forbid: skip a tick while the previous run's job is still unfinished.",
    )
    starting_deadline_seconds: int | None = Field(
        None,
        ge=1,
        le=86_400,
        description="A tick missed (operator down) by more than this is skipped, not fired late.",
    )


class ScheduleStatus(StatusBase):
    """What the scheduler last did."""

    queue_name: str | None = Field(None, description="Engine queue the jobs go to.")
    last_schedule_time: str | None = Field(
        None, description="Last tick fired.", json_schema_extra={"format": "date-time"}
    )
    next_schedule_time: str | None = Field(
        None, description="Next tick.", json_schema_extra={"format": "date-time"}
    )
    last_job_id: str | None = Field(None, description="Id of the job the last tick enqueued.")
    missed_runs: int | None = Field(
        None, description="Ticks that did not run: past the starting deadline, or Forbid."
    )
    runs: int | None = Field(None, description="Jobs enqueued, by ticks and by trigger.")
