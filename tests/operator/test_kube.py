"""Unit: how Kubernetes API errors become the operator's typed errors."""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException

from queue_operator import kube


def test_errors_carry_the_status_and_409_is_a_conflict() -> None:
    conflict = kube._error(ApiException(status=409, reason="Conflict"))
    assert isinstance(conflict, kube.ConflictError) and conflict.status == 409
    assert str(conflict) == "409 Conflict: "
    denied = ApiException(status=403, reason="Forbidden")
    denied.body = '{"message": "deployments is forbidden"}'
    error = kube._error(denied)
    assert not isinstance(error, kube.ConflictError) and error.status == 403
    assert str(error) == "403 Forbidden: deployments is forbidden"
