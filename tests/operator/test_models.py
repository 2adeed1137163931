"""Unit: the CR models accept what the CRDs accept and map onto the engine's QueueConfig."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from queue_operator.models import JobQueueSpec, ScheduleSpec, WorkerPoolSpec
from queue_operator.problems import Problem
from queue_operator.reconcile.common import parse_spec
from worker_runtime.queue_config import QueueConfig


def test_jobqueue_defaults_match_the_engine() -> None:
    spec = JobQueueSpec.model_validate({})
    assert QueueConfig.model_validate(spec.engine_config()) == QueueConfig()


def test_every_engine_setting_has_a_field() -> None:
    engine = set(QueueConfig.model_fields)
    assert engine <= set(JobQueueSpec.model_fields), engine - set(JobQueueSpec.model_fields)


def test_camel_case_and_engine_mapping() -> None:
    spec = JobQueueSpec.model_validate(
        {
            "queueName": "agent:lucidia",
            "maxAttempts": 5,
            "fairness": "weighted",
            "weights": [{"priority": 0, "weight": 4}],
            "agingRules": [{"fromPriority": 8, "toPriority": 5, "afterMs": 60000}],
            "rateLimit": 100,
        }
    )
    config = QueueConfig.model_validate(spec.engine_config())
    assert config.max_attempts == 5
    assert config.weights == {0: 4.0}
    assert config.aging_rules[0].after_ms == 60000
    assert config.rate_limit == 100


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"maxAttempts": 0}, "spec.maxAttempts"),
        ({"fairness": "random"}, "spec.fairness"),
        ({"queueName": "has space"}, "spec.queueName"),
        ({"unknown": 1}, "spec.unknown"),
        ({"backoffBaseMs": 10, "backoffMaxMs": 5}, "spec"),
        (
            {"agingRules": [{"fromPriority": 5, "toPriority": 5, "afterMs": 60000}]},
            "spec.agingRules.0",
        ),
    ],
)
def test_invalid_jobqueue_names_the_field(raw: dict[str, object], field: str) -> None:
    problem = parse_spec(JobQueueSpec, raw)
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.field) == ("InvalidSpec", field)
    assert problem.message.startswith(field)


def test_workerpool_spec() -> None:
    raw = {
        "queues": [{"name": "lucidia"}],
        "image": "worker:1",
        "handlers": "worker_runtime.examples",
        "autoscaling": {"minReplicas": 0, "maxReplicas": 5},
    }
    spec = WorkerPoolSpec.model_validate(raw)
    assert spec.autoscaling is not None
    assert spec.autoscaling.scale_down_stabilization_seconds == 300
    assert spec.autoscaling.scale_up_stabilization_seconds == 0
    with pytest.raises(ValidationError):
        WorkerPoolSpec.model_validate({**raw, "queues": []})


def test_schedule_cron_pattern() -> None:
    base = {"queue": "default", "jobName": "maintenance:cleanup"}
    assert ScheduleSpec.model_validate({**base, "cron": "0 3 * * *"}).time_zone == "UTC"
    assert ScheduleSpec.model_validate({**base, "cron": "@daily"})
    assert ScheduleSpec.model_validate({**base, "cron": "*/2 * * * * *"})  # seconds first
    for bad in ("0 3 * *", "every day", "@sometimes", "0 0 3 * * * *"):
        with pytest.raises(ValidationError):
            ScheduleSpec.model_validate({**base, "cron": bad})
