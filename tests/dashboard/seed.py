"""A Redis seeded for the dashboard tests: every job state, a hostile job, a worker, schedules."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from worker_runtime.client import Client
from worker_runtime.cron.schedules import ScheduleSpec
from worker_runtime.engine import writes

#: Would set the page title (or a global) if anything from a job ever ran in the browser.
HOSTILE = (
    "<script>document.title='pwned';window.pwned=1</script>"
    "<img src=x onerror=\"document.title='pwned';window.pwned=1\">"
)


@dataclass
class Seeded:
    pending: list[str] = field(default_factory=list)
    delayed: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    hostile: str = ""


async def seed(client: Client) -> Seeded:
    s = Seeded()
    store = client.store
    # Finished jobs first (claimed before the others are enqueued): two completed, a dead one
    # with a traceback, and the hostile one, dead with a hostile error.
    for n in range(2):
        s.completed.append((await client.enqueue("emails", "send_email", {"to": f"u{n}@x"})).id)
    s.dead.append((await client.enqueue("emails", "send_email", {"to": "bad"}, max_attempts=1)).id)
    s.hostile = (await client.enqueue("emails", HOSTILE, {"html": HOSTILE}, max_attempts=1)).id
    s.dead.append(s.hostile)
    claimed = (await store.run(writes.claim("emails", "worker-a", 10))).jobs
    for job in claimed:
        if job.id in s.completed:
            result = json.dumps({"sent": True, "id": job.id})
            await store.run(writes.complete("emails", "worker-a", [(job.id, job.token, result)]))
            await asyncio.sleep(0.005)  # distinct finish times: "newest first" is one order
        else:
            error = HOSTILE if job.id == s.hostile else "SMTPError: mailbox full"
            trace = f'Traceback (most recent call last):\n  File "h.py", line 3\n{error}'
            await store.run(
                writes.fail(
                    "emails", job.id, job.token, reason="Error", error=trace, permanent=True
                )
            )
    s.running.append((await client.enqueue("emails", "send_email", {"to": "run@x"})).id)
    (job,) = (await store.run(writes.claim("emails", "worker-a", 1))).jobs
    await store.run(writes.progress("emails", job.id, job.token, 40, "rendering"))
    for n in range(3):
        s.pending.append((await client.enqueue("emails", "send_email", {"to": f"p{n}@x"})).id)
    s.cancelled.append((await client.enqueue("emails", "send_email", {"to": "c@x"})).id)
    await client.cancel(s.cancelled[0], "emails")
    s.delayed.append((await client.enqueue("emails", "send_email", {"to": "d@x"}, delay=3600)).id)
    await client.enqueue("reports", "build_report", {"day": "2026-11-30"})
    await client.pause("reports")
    worker = {
        "name": "worker-a",
        "host": "node-1",
        "pid": 1,
        "queues": ["emails", "reports"],
        "concurrency": 8,
        "in_flight": 1,
        "heartbeat_ms": int(time.time() * 1000),
    }
    await store.run(writes.worker_beat("worker-a", worker, 60_000))
    await client.add_schedule(
        ScheduleSpec("nightly-report", "0 2 * * *", "reports", "build_report", {}, "Europe/Paris")
    )
    return s
