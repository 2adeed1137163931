"""The dashboard over plain HTTP: who may act (token, session, CSRF), escaping, headers, paging."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
import redis

from dashboard.security import Guard
from tests.dashboard.conftest import TOKEN, Dashboard, serve_in_thread
from tests.dashboard.seed import Seeded
from tests.redis_server import RedisServer, free_port
from worker_runtime.client import Client

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def request(
    dash: Dashboard, method: str, path: str, *, signed_in: bool = False, **kwargs: Any
) -> tuple[int, str, dict[str, str]]:
    """(status, body, headers) of one request; redirects are not followed."""

    async def go() -> tuple[int, str, dict[str, str]]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            if signed_in:
                async with http.post(dash.url + "/login", data={"token": TOKEN}) as r:
                    assert r.status == 200, await r.text()  # followed to /
            async with http.request(method, dash.url + path, allow_redirects=False, **kwargs) as r:
                return r.status, await r.text(), dict(r.headers)

    result: tuple[int, str, dict[str, str]] = dash.run(go())
    return result


def paused(dash: Dashboard, queue: str) -> bool:
    async def read(client: Client) -> bool:
        return (await client.stats(queue)).paused

    result: bool = dash.with_client(read)
    return result


def test_read_only_dashboard_refuses_every_action(
    read_only_dashboard: Dashboard, seeded: Seeded
) -> None:
    status, body, _ = request(
        read_only_dashboard, "POST", "/actions/pause", data={"queue": "emails"}
    )
    assert status == 403 and "read-only" in body
    status, body, _ = request(
        read_only_dashboard,
        "POST",
        "/actions/pause",
        data={"queue": "emails"},
        headers={"Authorization": "Bearer " + TOKEN},
    )
    assert status == 403
    assert not paused(read_only_dashboard, "emails")
    _, page, _ = request(read_only_dashboard, "GET", "/")
    assert 'action="/actions/' not in page  # no forms to press


def test_an_action_without_the_token_gets_403(dashboard: Dashboard, seeded: Seeded) -> None:
    status, body, _ = request(dashboard, "POST", "/actions/pause", data={"queue": "emails"})
    assert status == 403 and "not signed in" in body
    status, _, _ = request(dashboard, "POST", "/login", data={"token": "wrong-token-123456789"})
    assert status == 403
    status, _, _ = request(
        dashboard,
        "POST",
        "/actions/pause",
        data={"queue": "emails"},
        headers={"Authorization": "Bearer wrong-token-123456789"},
    )
    assert status == 403
    assert not paused(dashboard, "emails")


def test_a_post_without_the_csrf_token_gets_403(dashboard: Dashboard, seeded: Seeded) -> None:
    for form in ({"queue": "emails"}, {"queue": "emails", "csrf": "0" * 64}):
        status, body, _ = request(dashboard, "POST", "/actions/pause", signed_in=True, data=form)
        assert status == 403 and "CSRF" in body
    assert not paused(dashboard, "emails")


def test_a_signed_in_form_with_its_csrf_token_acts(dashboard: Dashboard, seeded: Seeded) -> None:
    async def go() -> tuple[int, str]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(dashboard.url + "/login", data={"token": TOKEN})
            async with http.get(dashboard.url + "/") as r:
                token = CSRF.findall(await r.text())[0]
            form = {"queue": "emails", "csrf": token, "back": "//evil.example/x"}
            async with http.post(
                dashboard.url + "/actions/pause", data=form, allow_redirects=False
            ) as r:
                return r.status, r.headers["Location"]

    status, location = dashboard.run(go())
    assert status == 303
    assert location == "/"  # never back to another site
    assert paused(dashboard, "emails")


def test_a_script_acts_with_the_bearer_token(dashboard: Dashboard, seeded: Seeded) -> None:
    bearer = {"Authorization": "Bearer " + TOKEN}
    status, body, _ = request(
        dashboard, "POST", "/actions/retry-dead", data={"queue": "emails"}, headers=bearer
    )
    assert status == 200 and "2 dead jobs of emails sent back" in body
    status, body, _ = request(
        dashboard,
        "POST",
        "/actions/retry-job",
        data={"queue": "emails", "job": "nope"},
        headers=bearer,
    )
    assert status == 409  # the engine's refusal, reported


def test_read_only_flag_wins_over_the_token(redis_url: str, seeded: Seeded) -> None:
    for dash in serve_in_thread(redis_url, Guard(TOKEN, read_only=True)):
        bearer = {"Authorization": "Bearer " + TOKEN}
        status, body, _ = request(
            dash, "POST", "/actions/pause", data={"queue": "emails"}, headers=bearer
        )
        assert status == 403 and "--read-only" in body


def test_job_values_are_escaped_and_scripts_are_confined(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    for path in (f"/queues/emails/jobs/{seeded.hostile}", "/queues/emails?state=dead"):
        status, page, headers = request(dashboard, "GET", path)
        assert status == 200
        assert "<script>document" not in page and "<img src=x" not in page
        assert "&lt;script&gt;document.title=" in page
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_queue_job_and_bad_paging_are_refused(dashboard: Dashboard, seeded: Seeded) -> None:
    assert request(dashboard, "GET", "/queues/nope")[0] == 404
    assert request(dashboard, "GET", "/queues/emails/jobs/nope")[0] == 404
    assert request(dashboard, "GET", "/queues/emails?state=bogus")[0] == 400
    assert request(dashboard, "GET", "/queues/emails?limit=100000")[0] == 400
    assert request(dashboard, "POST", "/actions/bogus", signed_in=True)[0] == 404


#: Writes pending (or dead) records straight into a queue's keys, as enqueue would
#: leave them, in one script call per 100,000: a million jobs in seconds.
BULK = """
local now = tonumber(ARGV[3])
for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  local id = 'bulk' .. i
  redis.call('HSET', KEYS[1], id, now .. '\\n{"n":"bulk","p":5}\\n{"i":' .. i .. '}')
  redis.call('ZADD', KEYS[2], ARGV[4] == 'dead' and (now + i) or (5e13 + i), id)
end
"""


def bulk(r: redis.Redis, queue: str, state: str, n: int) -> None:
    r.sadd("brq:queues", queue)
    now = int(r.time()[0]) * 1000
    keys = [f"brq:{{{queue}}}:jobs", f"brq:{{{queue}}}:{state}"]
    for start in range(0, n, 100_000):
        r.eval(BULK, 2, *keys, start, min(n, start + 100_000) - 1, now, state)


@pytest.mark.slow
def test_a_million_pending_and_ten_thousand_dead_are_paged(
    r: redis.Redis, dashboard: Dashboard
) -> None:
    bulk(r, "big", "pending", 1_000_000)
    bulk(r, "big", "dead", 10_000)
    status, page, _ = request(dashboard, "GET", "/queues/big?state=pending&offset=999950&limit=50")
    assert status == 200
    assert page.count('<tr class="job">') == 50
    assert "999,951–1,000,000 of 1,000,000" in page
    assert "bulk999999" in page and "bulk999949" not in page
    assert 'id="next"' not in page and 'id="prev"' in page
    status, page, _ = request(dashboard, "GET", "/queues/big?state=dead")
    assert page.count('<tr class="job">') == 50
    assert "1–50 of 10,000" in page
    assert "bulk9999<" in page  # newest first
    assert len(page) < 100_000
    status, page, _ = request(dashboard, "GET", "/")
    assert "1,000,000" in page and "10,000" in page


def test_redis_down_is_a_503_not_a_crash(redis_server: RedisServer) -> None:
    """(The fixture keeps this test out of the pure tier: it serves HTTP.)"""
    for dash in serve_in_thread(f"redis://127.0.0.1:{free_port()}/0", Guard(None)):
        status, body, _ = request(dash, "GET", "/")
        assert status == 503 and "Redis cannot serve now" in body


def test_jobs_waiting_on_dependencies_are_counted_listed_and_linked(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    async def enqueue(client: Client) -> tuple[str, str]:
        first = await client.enqueue("builds", "compile", {})
        then = await client.enqueue("builds", "link", {}, depends_on=[first.id])
        return first.id, then.id

    first, then = dashboard.with_client(enqueue)
    _, page, _ = request(dashboard, "GET", "/")
    row = page[page.index('<tr data-queue="builds">') :]
    assert re.search(r'data-live="waiting">1<', row[: row.index("</tr>")])
    _, page, _ = request(dashboard, "GET", "/queues/builds?state=waiting", signed_in=True)
    assert re.search(r'id="range">waiting: 1–1 of 1\s+\(oldest first\)', page)
    assert f'href="/queues/builds/jobs/{then}"' in page and 'data-action="cancel-job"' in page
    _, page, _ = request(dashboard, "GET", f"/queues/builds/jobs/{then}")
    assert f'id="job-waiting-on"><a href="/queues/builds/jobs/{first}">{first}</a>' in page
    _, page, _ = request(dashboard, "GET", f"/queues/builds/jobs/{first}")
    assert f'id="job-dependants"><a href="/queues/builds/jobs/{then}">{then}</a>' in page


def test_a_dependency_of_another_queue_links_to_that_queue(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    async def enqueue(client: Client) -> tuple[str, str]:
        first = await client.enqueue("assets", "fetch", {})
        then = await client.enqueue("builds", "link", {}, depends_on=[("assets", first.id)])
        return first.id, then.id

    first, then = dashboard.with_client(enqueue)
    _, page, _ = request(dashboard, "GET", f"/queues/builds/jobs/{then}")
    assert f'<a href="/queues/assets/jobs/{first}">{first} (queue assets)</a>' in page
    _, page, _ = request(dashboard, "GET", f"/queues/assets/jobs/{first}")
    assert f'<a href="/queues/builds/jobs/{then}">{then} (queue builds)</a>' in page
