"""The public names of ``worker_runtime`` resolve, and load lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import worker_runtime

TYPE_ALIASES = {"Dependency", "DependencyPolicy", "EventType"}


def test_every_public_name_resolves_to_its_defining_module() -> None:
    for name in worker_runtime.__all__:
        value = getattr(worker_runtime, name)
        assert getattr(importlib.import_module(worker_runtime._WHERE[name]), name) is value
        if name not in TYPE_ALIASES:  # a Literal or a union has no module of its own
            assert value.__module__.startswith("worker_runtime"), name
    assert sorted(worker_runtime.__all__) == sorted(worker_runtime._WHERE)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        worker_runtime.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("NoSuchThing resolved")


def test_the_models_load_without_redis_or_the_worker() -> None:
    """The operator's pure modules import worker_runtime.models: that must not pull in I/O."""
    code = (
        "import sys, worker_runtime.models, queue_operator.reconcile.jobqueue\n"
        "heavy = [m for m in ('redis', 'worker_runtime.client', 'worker_runtime.worker.loop',"
        " 'kopf', 'kubernetes') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
