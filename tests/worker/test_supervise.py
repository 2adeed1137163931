"""A background loop that fails is logged once with its cause and restarted."""

from __future__ import annotations

import asyncio
import logging

import pytest

from worker_runtime.worker import supervise as supervise_module
from worker_runtime.worker.supervise import restart_delay, supervise


@pytest.fixture(autouse=True)
def quick_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervise_module, "RESTART_MIN_S", 0.001)


async def test_a_failed_loop_is_logged_once_with_its_cause_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("boom in the loop")

    with caplog.at_level(logging.INFO, logger="blackroad.worker"):
        await asyncio.wait_for(supervise("recover_loop", loop, lambda: False), 5)
    assert runs == 2
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "recover_loop" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)


async def test_repeated_failures_back_off_and_log_one_line_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs <= 4:
            raise KeyError("again")

    with caplog.at_level(logging.INFO, logger="blackroad.worker"):
        await asyncio.wait_for(supervise("heartbeat_loop", loop, lambda: False), 5)
    assert runs == 5
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 4
    assert [rec.exc_info is not None for rec in errors] == [True, False, False, False]
    assert "4 in a row" in errors[-1].getMessage()


async def test_no_restart_once_closing_and_cancellation_ends_it() -> None:
    runs = 0

    async def failing() -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("while stopping")

    await asyncio.wait_for(supervise("acks", failing, lambda: True), 5)
    assert runs == 1

    async def forever() -> None:
        await asyncio.sleep(3600)

    task = asyncio.create_task(supervise("listen", forever, lambda: False))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_restart_delay_doubles_up_to_its_cap() -> None:
    delays = [restart_delay(n) for n in range(1, 40)]
    assert delays == sorted(delays)
    assert delays[1] == 2 * delays[0]
    assert delays[-1] == supervise_module.RESTART_MAX_S
