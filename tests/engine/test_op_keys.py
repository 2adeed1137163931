"""The worker's script calls share one read-only keys mapping per queue (built once)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys, limiter_key, limiter_log_key
from worker_runtime.engine.operation import Op


def test_claim_keys_are_built_once_per_queue_and_limiter() -> None:
    a = writes.claim("q", "w", 10)
    assert writes.claim("q", "w2", 5).keys is a.keys
    assert isinstance(a.keys, MappingProxyType)
    assert dict(a.keys) == QueueKeys.of("q").for_script("claim")
    shared = writes.claim("q", "w", 10, limiter="api")
    assert shared.keys is not a.keys
    assert shared.keys["limiter"] == limiter_log_key("api")
    assert shared.keys["shared_limiter"] == limiter_key("api")
    assert writes.claim("q", "w", 1, limiter="").keys is a.keys


def test_every_per_job_call_shares_its_queue_keys() -> None:
    held = [("1", "7")]
    ops: list[tuple[Op[Any], Op[Any]]] = [
        (writes.complete("q", "w", [("1", "7", "")]), writes.complete("q", "v", [])),
        (writes.heartbeat("q", 1000, held), writes.heartbeat("q", 5, [])),
        (writes.release("q", held), writes.release("q", [])),
        (
            writes.fail("q", "1", "7", reason="R", error="E"),
            writes.fail("q", "2", "8", reason="S", error="F"),
        ),
        (writes.progress("q", "1", "7", 5.0, ""), writes.progress("q", "2", "8", 9.0, "m")),
    ]
    for first, second in ops:
        assert first.keys is second.keys
        assert dict(first.keys) == QueueKeys.of("q").for_script(str(first.script))


def test_complete_lays_out_its_jobs_flat() -> None:
    op = writes.complete("q", "w", [("1", "7", ""), ("2", "8", '{"x":1}')])
    k = QueueKeys.of("q")
    assert list(op.args) == ["w", k.wake, k.done, "1", "7", "", "2", "8", '{"x":1}']
    assert op.parse([1, "-1"]) == [1, -1]
