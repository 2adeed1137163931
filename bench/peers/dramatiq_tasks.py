"""The Dramatiq broker and actor the worker imports; broker and queue from the environment."""

from __future__ import annotations

import os

import dramatiq
from common import stamp
from dramatiq.brokers.redis import RedisBroker

dramatiq.set_broker(RedisBroker(url=os.environ["BENCH_URL"]))


@dramatiq.actor(queue_name=os.environ.get("BENCH_QUEUE", "bench"), max_retries=0)
def noop(t: float) -> None:
    stamp(t)
