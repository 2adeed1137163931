"""The dashboard in a real headless Chromium: every page, every action, hostile jobs, live
figures. With SCREENSHOTS=1 the main pages are saved to docs/img/ (shown in the README)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import TOKEN, Dashboard
from tests.dashboard.seed import HOSTILE, Seeded
from worker_runtime.client import Client

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def texts(browser: Any, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [str(e.text) for e in browser.find_elements(By.CSS_SELECTOR, css)]


def open_page(browser: Any, dash: Dashboard, path: str) -> None:
    browser.get(dash.url + path)
    assert browser.title.endswith("BlackRoad Queues"), browser.title


def sign_in(browser: Any, dash: Dashboard) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, dash, "/login")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "sign-in").click()
    wait_for(lambda: browser.find_elements(By.ID, "logout"))


def press(browser: Any, action: str, row: str = "") -> str:
    """Clicks the action's button (within ``row``, a CSS scope) and returns the flash text."""
    from selenium.webdriver.common.by import By

    before = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, f'{row} button[data-action="{action}"]').click()
    assert wait_for(lambda: gone(before)), f"{action}: the page did not change"
    flash = wait_for(lambda: browser.find_elements(By.ID, "flash"))
    assert flash, f"no result shown for {action}"
    return str(flash[0].text)


def gone(element: Any) -> bool:
    """The page holding ``element`` was replaced (a form was posted and its redirect loaded)."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.tag_name  # noqa: B018  # reading it is the test
    except StaleElementReferenceException:
        return True
    return False


def screenshot(browser: Any, name: str, tmp: Path) -> None:
    folder = IMAGES if os.environ.get("SCREENSHOTS") == "1" else tmp
    folder.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(folder / f"{name}.png"))


@pytest.fixture
def chrome(browser: Any, dashboard: Dashboard) -> Any:
    browser.get(dashboard.url + "/login")
    browser.delete_all_cookies()  # cookies ignore ports: a previous test's session is gone
    return browser


def test_every_page_renders_the_seeded_rows(
    chrome: Any, dashboard: Dashboard, seeded: Seeded, tmp_path: Path
) -> None:
    sign_in(chrome, dashboard)  # the screenshots show the action buttons
    open_page(chrome, dashboard, "/")
    rows = texts(chrome, "#queues tbody tr")
    assert len(rows) == 2
    assert rows[0].startswith("emails running 3 1 1 2 2 1")
    assert rows[1].startswith("reports paused 1 0 0 0 0 0")
    emails = chrome.find_element("css selector", '#queues tr[data-queue="emails"]')
    cells = {
        c.get_attribute("data-live"): c.text
        for c in emails.find_elements("css selector", "td[data-live]")
    }
    assert cells["pending"] == "3" and cells["delayed"] == "1" and cells["running"] == "1"
    assert cells["completed"] == "2" and cells["dead"] == "2" and cells["cancelled"] == "1"
    assert cells["paused"] == "running"
    screenshot(chrome, "dashboard-queues", tmp_path)

    for state, ids in (
        ("pending", seeded.pending),
        ("delayed", seeded.delayed),
        ("running", seeded.running),
        ("completed", seeded.completed),
        ("dead", seeded.dead),
        ("cancelled", seeded.cancelled),
    ):
        open_page(chrome, dashboard, f"/queues/emails?state={state}")
        shown = [t.split()[0] for t in texts(chrome, "#jobs tr.job")]
        assert sorted(shown) == sorted(ids), state
    assert shown == seeded.cancelled
    open_page(chrome, dashboard, "/queues/emails?state=completed")
    assert [t.split()[0] for t in texts(chrome, "#jobs tr.job")] == seeded.completed[::-1]
    open_page(chrome, dashboard, "/queues/emails?state=dead")
    screenshot(chrome, "dashboard-dead-letters", tmp_path)

    open_page(chrome, dashboard, f"/queues/emails/jobs/{seeded.dead[0]}")
    assert "SMTPError: mailbox full" in texts(chrome, "#attempts pre.error")[0]
    assert "Traceback (most recent call last)" in texts(chrome, "#attempts pre.error")[0]
    assert "worker-a" in texts(chrome, "#attempts td")
    screenshot(chrome, "dashboard-job", tmp_path)
    open_page(chrome, dashboard, f"/queues/emails/jobs/{seeded.completed[0]}")
    assert '"sent": true' in texts(chrome, "#result")[0]
    assert "u0@x" in texts(chrome, "#payload")[0]
    open_page(chrome, dashboard, f"/queues/emails/jobs/{seeded.running[0]}")
    assert texts(chrome, "#job-progress") == ["40% rendering"]
    assert "worker-a" in chrome.find_element("id", "job").text

    open_page(chrome, dashboard, "/workers")
    (worker,) = texts(chrome, "#workers tbody tr")
    assert worker.startswith("worker-a node-1 emails, reports 8 1")
    assert "no WorkerPools" in chrome.find_element("id", "no-pools").text
    screenshot(chrome, "dashboard-workers", tmp_path)

    open_page(chrome, dashboard, "/schedules")
    (schedule,) = texts(chrome, "#schedules tbody tr")
    assert schedule.startswith("nightly-report reports build_report 0 2 * * * Europe/Paris")
    assert "active" in schedule
    screenshot(chrome, "dashboard-schedules", tmp_path)


def test_each_action_works_and_shows_its_result(
    chrome: Any, dashboard: Dashboard, seeded: Seeded
) -> None:
    open_page(chrome, dashboard, "/")
    assert not chrome.find_elements("css selector", "button[data-action]")  # not signed in
    sign_in(chrome, dashboard)
    emails = '#queues tr[data-queue="emails"]'
    assert press(chrome, "pause", emails) == "queue emails paused"
    assert texts(chrome, f'{emails} td[data-live="paused"]') == ["paused"]
    assert press(chrome, "resume", emails) == "queue emails resumed"
    assert texts(chrome, f'{emails} td[data-live="paused"]') == ["running"]

    open_page(chrome, dashboard, "/queues/emails?state=pending")
    victim = seeded.pending[0]
    assert press(chrome, "cancel-job") == f"job {victim}: cancelled"
    assert victim not in " ".join(texts(chrome, "#jobs tr.job"))
    open_page(chrome, dashboard, "/queues/emails?state=cancelled")
    assert press(chrome, "retry-job").startswith("job ")
    open_page(chrome, dashboard, f"/queues/emails/jobs/{seeded.dead[0]}")
    assert press(chrome, "retry-job") == f"job {seeded.dead[0]} sent back to pending"
    assert chrome.find_element("id", "job-state").text == "pending"

    open_page(chrome, dashboard, "/queues/emails?state=dead")
    assert press(chrome, "retry-dead") == "1 dead jobs of emails sent back to pending"
    dead = dashboard.with_client(_make_dead)
    open_page(chrome, dashboard, "/queues/emails?state=dead")
    assert dead in " ".join(texts(chrome, "#jobs tr.job"))
    chrome.find_element(
        "css selector", 'form[action="/actions/purge-dead"] input[name="confirm"]'
    ).click()
    assert press(chrome, "purge-dead") == "1 dead jobs of emails purged"
    assert texts(chrome, "#jobs tr.job") == []

    open_page(chrome, dashboard, "/schedules")
    assert press(chrome, "trigger-schedule").startswith("schedule nightly-report triggered: job ")
    assert press(chrome, "suspend-schedule") == "schedule nightly-report suspended"
    assert "suspended" in texts(chrome, "#schedules td.state")
    assert press(chrome, "resume-schedule") == "schedule nightly-report resumed"
    assert "active" in texts(chrome, "#schedules td.state")
    chrome.find_element("id", "logout").click()
    wait_for(lambda: chrome.find_elements("id", "login"))
    assert not chrome.find_elements("css selector", "button[data-action]")


async def _make_dead(client: Client) -> str:
    from worker_runtime.engine import writes

    job = await client.enqueue("emails", "send_email", {"to": "x"}, max_attempts=1)
    claimed = await client.store.run(writes.claim("emails", "w", 50))
    for c in claimed.jobs:
        if c.id == job.id:
            await client.store.run(
                writes.fail("emails", c.id, c.token, reason="Error", error="E", permanent=True)
            )
        else:
            await client.store.run(writes.release("emails", [(c.id, c.token)]))
    return job.id


def test_a_hostile_job_runs_nothing_in_the_browser(
    chrome: Any, dashboard: Dashboard, seeded: Seeded
) -> None:
    sign_in(chrome, dashboard)
    for path in (
        "/queues/emails?state=dead",
        f"/queues/emails/jobs/{seeded.hostile}",
    ):
        open_page(chrome, dashboard, path)
        time.sleep(0.3)  # an onerror handler would run once the broken image failed
        assert chrome.title != "pwned"
        assert chrome.execute_script("return window.pwned === undefined") is True
        assert not chrome.find_elements("css selector", "main script, main img")
    assert chrome.find_element("id", "job-name").text == HOSTILE
    assert json.dumps(HOSTILE) in chrome.find_element("id", "payload").text
    assert HOSTILE in chrome.find_element("css selector", "#attempts pre.error").text


def test_figures_refresh_by_themselves(chrome: Any, dashboard: Dashboard, seeded: Seeded) -> None:
    open_page(chrome, dashboard, "/")
    cell = '#queues tr[data-queue="emails"] td[data-live="pending"]'
    assert texts(chrome, cell) == ["3"]

    async def enqueue(client: Client) -> None:
        for n in range(4):
            await client.enqueue("emails", "send_email", {"n": n})

    dashboard.with_client(enqueue)
    assert wait_for(lambda: texts(chrome, cell) == ["7"]), texts(chrome, cell)
    rate = texts(chrome, '#queues tr[data-queue="emails"] td[data-live="enqueue_rate"]')[0]
    assert rate.endswith("/s") and rate != "0.00/s"


#: The page's requests for the live figures so far (the browser's own record of them).
POLLS = """return performance.getEntriesByType("resource")
  .filter(e => e.name.indexOf("/api/overview") >= 0).length"""


def test_pages_without_live_figures_poll_nothing(
    chrome: Any, dashboard: Dashboard, seeded: Seeded
) -> None:
    open_page(chrome, dashboard, "/")
    assert chrome.find_element("css selector", "html").get_attribute("data-polling") == "on"
    assert wait_for(lambda: chrome.execute_script(POLLS) > 0)  # the clock runs here
    for path in ("/workers", "/schedules", f"/queues/emails/jobs/{seeded.dead[0]}", "/login"):
        open_page(chrome, dashboard, path)
        polling = chrome.find_element("css selector", "html").get_attribute("data-polling")
        assert polling == "off", path
    time.sleep(2.5)  # longer than live.js's period: a poll would be on record by now
    assert chrome.execute_script(POLLS) == 0


#: Posts a form from the page, as a forged one would, and hands back the response status.
POST = """
const [path, fields, done] = arguments;
fetch(path, {method: "POST", body: new URLSearchParams(fields), credentials: "same-origin"})
  .then(r => done(r.status), e => done(String(e)));
"""


def test_the_browser_is_refused_without_token_or_csrf(
    chrome: Any, dashboard: Dashboard, seeded: Seeded
) -> None:
    open_page(chrome, dashboard, "/")
    assert chrome.execute_async_script(POST, "/actions/pause", {"queue": "emails"}) == 403
    sign_in(chrome, dashboard)  # a session now, but a post without the page's CSRF token
    assert chrome.execute_async_script(POST, "/actions/pause", {"queue": "emails"}) == 403
    wrong = {"queue": "emails", "csrf": "f" * 64}
    assert chrome.execute_async_script(POST, "/actions/pause", wrong) == 403

    async def paused(client: Client) -> bool:
        return (await client.stats("emails")).paused

    assert dashboard.with_client(paused) is False
