"""Fixtures of the dashboard tests: a seeded Redis, the dashboard on a free port in a thread of
its own, and a headless Chromium driven by selenium (Debian's chromium and chromium-driver)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard.security import Guard
from dashboard.server import start
from tests.conftest import in_ci
from tests.dashboard.seed import Seeded, seed
from worker_runtime.client import Client

TOKEN = "test-token-0123456789abcdef"


@dataclass
class Dashboard:
    url: str
    loop: asyncio.AbstractEventLoop
    redis_url: str

    def run(self, coro: Any) -> Any:
        """Runs a coroutine on the dashboard's loop (with a client of its own) and waits."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def with_client(self, fn: Any) -> Any:
        async def call() -> Any:
            async with Client.from_url(self.redis_url) as client:
                return await fn(client)

        return self.run(call())


def serve_in_thread(redis_url: str, guard: Guard) -> Iterator[Dashboard]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started: Future[Any] = asyncio.run_coroutine_threadsafe(
        start(redis_url, "127.0.0.1", 0, guard), loop
    )
    runner, client, port = started.result(30)
    try:
        yield Dashboard(f"http://127.0.0.1:{port}", loop, redis_url)
    finally:

        async def stop() -> None:
            await runner.cleanup()
            await client.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def seeded(redis_url: str) -> Seeded:
    async def go() -> Seeded:
        async with Client.from_url(redis_url) as client:
            return await seed(client)

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def no_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No kubeconfig of the machine's own: the WorkerPools view says there is no cluster."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


@pytest.fixture
def dashboard(redis_url: str) -> Iterator[Dashboard]:
    """A dashboard that allows actions to whoever has TOKEN."""
    yield from serve_in_thread(redis_url, Guard(TOKEN))


@pytest.fixture
def read_only_dashboard(redis_url: str) -> Iterator[Dashboard]:
    yield from serve_in_thread(redis_url, Guard(None))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session; each test starts from a blank page."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        message = "chromium and chromium-driver are missing: run 'make install'"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
