"""Operator tier: Schedules fire into their JobQueue's engine queue; suspend, delete, problems."""

from __future__ import annotations

import re
import time

import redis

from tests.devcluster.conftest import KubectlFn
from tests.devcluster.kube import Kube
from tests.operator.conftest import (
    condition,
    cr,
    fired,
    log,
    run_operator,
    status,
    to_yaml,
    wait_for,
)

#: Every second (six fields: seconds first), so a test sees several ticks quickly.
EVERY_SECOND = "* * * * * *"


def ready_reason(kube: Kube, namespace: str, name: str) -> str:
    return str(condition(status(kube, namespace, "schedules", name), "Ready").get("reason", ""))


def test_schedule_fires_shows_status_suspends_and_is_removed(
    operator_env: None,
    kube: Kube,
    kubectl: KubectlFn,
    namespace: str,
    redis_secret: str,
    r: redis.Redis,
) -> None:
    name = f"{namespace}/tick"
    docs = [
        cr("JobQueue", "jobs", {"queueName": "sched-q"}),
        cr(
            "Schedule",
            "tick",
            {"cron": EVERY_SECOND, "queue": "jobs", "jobName": "noop", "payload": {"n": 1}},
        ),
        cr("Schedule", "lost", {"cron": EVERY_SECOND, "queue": "nope", "jobName": "noop"}),
        cr(
            "Schedule",
            "mars",
            {"cron": "@daily", "timeZone": "Mars/Olympus", "queue": "jobs", "jobName": "noop"},
        ),
    ]
    with run_operator(namespace) as runner:
        kubectl("apply", "-f", "-", input=to_yaml(*docs))
        ticks = wait_for(
            lambda: len(t := fired(r, "sched-q", name)) >= 2 and t, what="two ticks enqueued"
        )
        assert all(t % 1000 == 0 for t in ticks) and ticks[1] - ticks[0] == 1000
        st = wait_for(
            lambda: (s := status(kube, namespace, "schedules", "tick")).get("lastJobId") and s,
            what="status with the last run",
        )
        log(f"status {st}")
        assert st["queueName"] == "sched-q" and st["observedGeneration"] == 1
        assert st["lastJobId"].startswith(f"sched:{name}:")
        assert st["lastScheduleTime"] < st["nextScheduleTime"]
        assert condition(st, "Ready")["reason"] == "Scheduled"
        table = kubectl("get", "jsched", "tick").stdout
        log(table)
        header, row = table.splitlines()[:2]
        assert header.split()[:6] == ["NAME", "CRON", "QUEUE", "LAST", "NEXT", "SUSPENDED"]
        assert "<none>" not in row and row.split()[-2] == "false"
        # Next is printed as a time: kubectl shows future dates as <invalid> ages.
        assert re.search(r" \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", row), row
        assert ready_reason(kube, namespace, "lost") == "QueueNotFound"
        mars = condition(status(kube, namespace, "schedules", "mars"), "Ready")
        assert mars["reason"] == "InvalidSpec" and "spec.timeZone" in mars["message"]
        assert set(r.hkeys("brq:schedules")) == {name}

        kubectl("patch", "jsched", "tick", "--type=merge", "-p", '{"spec":{"suspend":true}}')
        wait_for(lambda: ready_reason(kube, namespace, "tick") == "Suspended", what="suspended")
        before = len(fired(r, "sched-q", name))
        time.sleep(2.2)
        assert len(fired(r, "sched-q", name)) == before, "a suspended schedule fired"
        assert "true" in kubectl("get", "jsched", "tick").stdout
        kubectl("patch", "jsched", "tick", "--type=merge", "-p", '{"spec":{"suspend":false}}')
        wait_for(lambda: len(fired(r, "sched-q", name)) > before, what="resumed")

        kubectl("delete", "jsched", "tick", "--wait=true", timeout=30)
        assert r.hkeys("brq:schedules") == []
        after = len(fired(r, "sched-q", name))
        time.sleep(1.2)
        assert len(fired(r, "sched-q", name)) == after, "a deleted schedule fired"
        events = kubectl("get", "events", "-o", "yaml").stdout
        assert "ScheduleApplied" in events and "QueueNotFound" in events
    assert runner.exception is None, runner.output
