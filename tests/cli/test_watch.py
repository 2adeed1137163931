"""``blackroad job watch``: one line per event, JSON lines with -o json, a clean Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from worker_runtime.client import SyncClient
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.models import JobEvent


def _watch(redis_url: str, *args: str) -> subprocess.Popen[str]:
    script = Path(sys.executable).parent / "blackroad"
    return subprocess.Popen(
        [str(script), "--redis-url", redis_url, "job", "watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell without job control starts background jobs with SIGINT ignored, and
        # Python keeps an inherited SIG_IGN: give the child the terminal's default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _until_subscribed(r: redis.Redis, queue: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not r.pubsub_numsub(QueueKeys.of(queue).events)[0][1]:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "job watch never subscribed"
        time.sleep(0.05)


def test_watch_prints_json_lines_and_exits_cleanly_on_ctrl_c(
    redis_url: str, r: redis.Redis, sync_client: SyncClient
) -> None:
    proc = _watch(redis_url, "emails", "-o", "json")
    try:
        _until_subscribed(r, "emails", proc)
        job = sync_client.enqueue("emails", "send", {"to": "a"})
        [claimed] = sync_client.run(writes.claim("emails", "w", 1)).jobs
        sync_client.run(writes.complete("emails", "w", [(job.id, claimed.token, "")]))
        assert proc.stdout is not None
        lines = [json.loads(proc.stdout.readline()) for _ in range(3)]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [(e["type"], e["id"], e["name"], e["queue"]) for e in lines] == [
        ("enqueued", job.id, "send", "emails"),
        ("started", job.id, "send", "emails"),
        ("completed", job.id, "send", "emails"),
    ]
    assert lines[2]["attempt"] == 1
    assert proc.returncode == 0, err
    assert out == "" and "Traceback" not in err


def test_watch_lines_in_table_output(run: object) -> None:
    from worker_runtime.cli.job import event_line

    e = JobEvent("emails", "failed", "abc", "send", 2, 0, reason="ValueError", due_ms=1000)
    line = event_line("table", e)
    assert line.split() == [
        "1970-01-01",
        "00:00:00.000Z",
        "emails",
        "failed",
        "abc",
        "send",
        "attempt",
        "2",
        "ValueError",
        "due",
        "1970-01-01",
        "00:00:01.000Z",
    ]
    p = JobEvent("emails", "progress", "abc", None, 1, 0, pct=40, message="half")
    assert event_line("table", p).split()[2:] == [
        "emails",
        "progress",
        "abc",
        "-",
        "attempt",
        "1",
        "40%",
        "half",
    ]
    assert json.loads(event_line("json", p))["pct"] == 40
    assert event_line("yaml", p).startswith("---\nqueue: emails\n")


def test_watch_without_queues_and_none_known(run: object) -> None:
    from collections.abc import Callable

    from click.testing import Result

    invoke: Callable[..., Result] = run  # type: ignore[assignment]
    result = invoke("job", "watch")
    assert result.exit_code == 1
    assert "no queues yet" in result.output
