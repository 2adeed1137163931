"""The Celery app and task the worker imports; broker and queue come from the environment."""

from __future__ import annotations

import os

from celery import Celery
from common import stamp

app = Celery("bench", broker=os.environ["BENCH_URL"])
app.conf.task_default_queue = os.environ.get("BENCH_QUEUE", "bench")
app.conf.broker_connection_retry_on_startup = True


@app.task(ignore_result=True)
def noop(t: float) -> None:
    stamp(t)
