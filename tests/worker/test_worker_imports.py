"""What a worker process loads: no prometheus_client without a metrics port, none of the
operator's or the dashboard's dependencies, no multiprocessing unless --pool process."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("prometheus_client", "multiprocessing", "aiohttp", "kopf", "kubernetes", "jinja2")

PROBE = """
import json, sys
from worker_runtime.cli import worker
from worker_runtime.worker.metrics import NoMetrics
from worker_runtime.worker.loop import Worker
from worker_runtime.worker.runner import run_worker
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def test_the_worker_start_path_loads_none_of_the_heavy_modules() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = set(json.loads(out))
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
