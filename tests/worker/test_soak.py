"""The issue's two long runs, sized for CI (`python -m bench.soak` runs them at full size):
a drain by 4 worker processes with AOF, and due times with priorities on one worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak

pytestmark = pytest.mark.slow


def test_a_drain_by_four_processes_runs_every_job_once_and_memory_comes_back(
    tmp_path: Path,
) -> None:
    out = soak.drain(tmp_path, jobs=20_000, workers=4)
    ids = out.pop("ids")
    assert out["executed_once"] == len(ids) == 20_000, out
    assert out["missing"] == 0 and out["duplicates"] == 0, out
    assert out["completed_kept"] == soak.KEEP_COMPLETED, out
    mem = out["used_memory_mb"]
    # Only the kept completed jobs remain of what the enqueue added.
    assert mem["end"] - mem["start"] < 0.3 * (mem["peak"] - mem["start"]), out
    print(f"\n{out}")


def test_delayed_jobs_never_start_early_and_high_runs_before_low(tmp_path: Path) -> None:
    out = soak.due(tmp_path, low=2000, high=200, delayed=1000, spread=10)
    assert out["delayed"] == 1000 and out["executions"] == 3200, out
    assert out["started_early"] == 0, out
    assert out["high_before_low"], out
    print(f"\n{out}")
