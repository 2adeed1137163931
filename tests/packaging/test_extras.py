"""Which missing module means "install the devcluster extra", and which one is a bug."""

from __future__ import annotations

import pytest

from worker_runtime.cli.devcluster_cmd import missing_dependency


@pytest.mark.parametrize(
    ("module", "extra_missing"),
    [
        ("aiohttp", True),
        ("celpy", True),
        ("devcluster", True),  # the package itself left out (the worker image)
        ("devcluster.server", False),  # a module of ours that is gone: a bug, not an extra
    ],
)
def test_missing_dependency(module: str, extra_missing: bool) -> None:
    exc = ModuleNotFoundError(f"No module named {module!r}", name=module)
    assert missing_dependency(exc) is extra_missing
