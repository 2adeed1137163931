"""The asynchronous ``Client``: its parts put together."""

from __future__ import annotations

from worker_runtime.client.managing import Managing
from worker_runtime.client.producing import Producing
from worker_runtime.client.waiting import Waiting


class Client(Producing, Waiting, Managing):
    """Asynchronous client of the queue engine: enqueue (``Producing``), read and wait
    (``Browsing``, ``Waiting``), steer (``Managing``); ``ClientCore`` holds the store."""
