"""The GitOps path on `make run`'s stack: server-side apply of the examples, a second field
manager's conflict, and kubectl's habits against the stack's context namespace."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from e2e.conftest import LocalSystem

ROOT = Path(__file__).resolve().parents[1]


def _examples_in(system: LocalSystem, namespace: str) -> str:
    rendered = system.kubectl("kustomize", str(ROOT / "manifests" / "examples")).stdout
    docs = list(yaml.safe_load_all(rendered))
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
    return yaml.safe_dump_all(docs)


def _touched(system: LocalSystem, namespace: str, name: str) -> bool:
    got = system.kubectl("get", "-n", namespace, "jobqueue", name, "-o", "json").stdout
    obj = json.loads(got)
    return bool(obj.get("status") and obj["metadata"].get("finalizers"))


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_examples_server_side_applied_then_a_second_manager_conflicts(
    system: LocalSystem, namespace: str
) -> None:
    examples = _examples_in(system, namespace)
    applied = system.kubectl("apply", "--server-side", "-f", "-", input=examples).stdout
    assert "jobqueue.queues.blackroad.io/lucidia serverside-applied" in applied
    # The operator has written to it (status, finalizer), whatever it concluded: the
    # example names are taken by the examples in their own namespace.
    _wait(lambda: _touched(system, namespace, "lucidia"), "the operator to write lucidia")
    # The operator's own writes (finalizers, status) take no field of the configuration.
    system.kubectl("apply", "--server-side", "-f", "-", input=examples)
    flux = (
        "apiVersion: queues.blackroad.io/v1alpha1\nkind: JobQueue\n"
        f"metadata: {{name: lucidia, namespace: {namespace}}}\nspec: {{maxAttempts: 9}}\n"
    )
    conflict = system.kubectl(
        "apply", "--server-side", "--field-manager=flux", "-f", "-", input=flux, check=False
    )
    assert conflict.returncode != 0
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl" using '
        "queues.blackroad.io/v1alpha1: .spec.maxAttempts"
    ) in conflict.stderr
    system.kubectl(
        "apply", "--server-side", "--field-manager=flux", "--force-conflicts", "-f", "-", input=flux
    )
    got = system.kubectl("get", "-n", namespace, "jobqueue", "lucidia", "-o", "yaml").stdout
    assert yaml.safe_load(got)["spec"]["maxAttempts"] == 9


def test_plain_kubectl_get_shows_the_example_queues(system: LocalSystem) -> None:
    names = system.kubectl("get", "jobqueues", "-o", "name").stdout.split()
    assert "jobqueue.queues.blackroad.io/lucidia" in names


def test_kubectl_create_namespace_and_secret_work_as_the_operator_advises(
    system: LocalSystem, namespace: str
) -> None:
    extra = f"{namespace}-x"
    try:
        system.kubectl("create", "namespace", extra)
        system.kubectl(
            "create",
            "secret",
            "generic",
            "blackroad-redis",
            "-n",
            extra,
            f"--from-literal=url={system.redis_url}",
        )
        assert system.kubectl("get", "secret", "-n", extra, "-o", "name").stdout.strip() == (
            "secret/blackroad-redis"
        )
    finally:
        system.kubectl("delete", "namespace", extra, "--wait=false", check=False)
