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


def _reply(*records: str) -> list[Any]:
    reply: list[Any] = [-1, 30000, 1000]
    for i, record in enumerate(records):
        reply += [f"id{i}", str(10 + i), 1, record, -5]
    return reply


def test_claim_parse_reads_each_record_whatever_the_meta_it_shares() -> None:
    op = writes.claim("q", "w", 10)
    plain = '{"n":"a","p":5}'
    got = op.parse(
        _reply(
            f"7\n{plain}\n[1]",
            f"8\n{plain}\n[2]",
            '9\n{"n":"b","p":1,"ma":3,"to":500,"dk":"x"}\n{}',
            "10\nnot json\n{}",
            "11\nnot json\n{}",
            '12\n{"n":"c","p":2,"ma":123456789012345678901234567890}\nNaN',
        )
    )
    a, a2, b, bad, bad2, c = got.jobs
    assert (a.id, a.name, a.priority, a.enqueued_ms, a.raw_payload, a.token) == (
        "id0",
        "a",
        5,
        7,
        "[1]",
        "10",
    )
    assert (a2.id, a2.name, a2.raw_payload, a2.waited_ms, a2.attempt) == ("id1", "a", "[2]", 0, 1)
    assert (b.name, b.priority, b.max_attempts, b.timeout_ms) == ("b", 1, 3, 500)
    for job in (bad, bad2):  # never remembered as decodable
        assert (job.name, job.raw_payload, job.enqueued_ms) == (writes.UNDECODABLE, "", 0)
    assert (c.name, c.max_attempts, c.raw_payload) == ("c", 123456789012345678901234567890, "NaN")
