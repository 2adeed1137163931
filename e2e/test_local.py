"""The e2e scenarios on the local stack: real Redis, devcluster, operator and worker processes."""

from __future__ import annotations

from e2e import scenarios
from e2e.conftest import LocalSystem


def test_examples_apply_and_run(system: LocalSystem) -> None:
    scenarios.examples_run(system)


def test_invalid_jobqueue_is_refused_with_the_field_named(
    system: LocalSystem, namespace: str
) -> None:
    scenarios.invalid_queue_refused(system, namespace)


def test_burst_scales_up_drains_and_returns_to_minimum(system: LocalSystem, namespace: str) -> None:
    scenarios.burst_scales_up_drains_and_returns(system, namespace)


def test_schedule_fires_on_time(system: LocalSystem, namespace: str) -> None:
    scenarios.schedule_fires_on_time(system, namespace)


def test_dead_letter_then_dlq_retry_completes(system: LocalSystem, namespace: str) -> None:
    scenarios.dead_letter_then_cli_retry(system, namespace)


def test_delete_workerpool_stops_its_processes(system: LocalSystem, namespace: str) -> None:
    scenarios.delete_pool_stops_workers(system, namespace)


def test_sigkill_operator_and_a_worker_mid_run(system: LocalSystem, namespace: str) -> None:
    scenarios.chaos_every_job_completes(system, namespace)
