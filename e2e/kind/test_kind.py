"""The e2e scenarios on a kind cluster: the images built here, `kubectl apply -k manifests/`."""

from __future__ import annotations

import pytest

from e2e import scenarios
from e2e.kind.conftest import KindSystem

pytestmark = pytest.mark.kind


def test_examples_apply_and_run(kind_system: KindSystem) -> None:
    scenarios.examples_run(kind_system)


def test_invalid_jobqueue_is_refused_with_the_field_named(
    kind_system: KindSystem, kind_namespace: str
) -> None:
    scenarios.invalid_queue_refused(kind_system, kind_namespace)


def test_burst_scales_up_drains_and_returns_to_minimum(
    kind_system: KindSystem, kind_namespace: str
) -> None:
    scenarios.burst_scales_up_drains_and_returns(kind_system, kind_namespace)


def test_schedule_fires_on_time(kind_system: KindSystem, kind_namespace: str) -> None:
    scenarios.schedule_fires_on_time(kind_system, kind_namespace)


def test_dead_letter_then_dlq_retry_completes(kind_system: KindSystem, kind_namespace: str) -> None:
    scenarios.dead_letter_then_cli_retry(kind_system, kind_namespace)


def test_delete_workerpool_stops_its_processes(
    kind_system: KindSystem, kind_namespace: str
) -> None:
    scenarios.delete_pool_stops_workers(kind_system, kind_namespace)


def test_sigkill_operator_and_a_worker_mid_run(
    kind_system: KindSystem, kind_namespace: str
) -> None:
    scenarios.chaos_every_job_completes(kind_system, kind_namespace)
