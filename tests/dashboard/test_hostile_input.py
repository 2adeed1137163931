"""The dashboard against hostile requests and odd records: refusals, never a 500 or a detour."""

from __future__ import annotations

import html
import json
import re
import time
from urllib.parse import quote

import aiohttp
import pytest
import redis

from dashboard import actions
from dashboard.actions import FLASH_COOKIE
from dashboard.security import SESSION_COOKIE, SESSION_TTL_S, Guard
from tests.dashboard.conftest import TOKEN, Dashboard
from tests.dashboard.seed import Seeded
from tests.dashboard.test_http import CSRF, paused, request
from worker_runtime.client import Client
from worker_runtime.engine.keys import WORKERS, worker_key


def signed_in_posts(dash: Dashboard, path: str, forms: list[dict[str, str]]) -> list[int]:
    """The status of each form posted by one signed-in browser; "{csrf}" is its token."""

    async def go() -> list[int]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(dash.url + "/login", data={"token": TOKEN})
            async with http.get(dash.url + "/") as r:
                token = CSRF.findall(await r.text())[0]
            statuses = []
            for form in forms:
                filled = {k: v.replace("{csrf}", token) for k, v in form.items()}
                async with http.post(dash.url + path, data=filled, allow_redirects=False) as r:
                    statuses.append(r.status)
            return statuses

    result: list[int] = dash.run(go())
    return result


def test_non_ascii_session_or_csrf_is_refused_not_a_crash(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    # hmac.compare_digest raises TypeError on str with non-ASCII characters.
    cookie = {"Cookie": "brq_session=" + "é".encode().decode("latin-1")}
    assert request(dashboard, "GET", "/", headers=cookie)[0] == 200
    assert (
        request(dashboard, "POST", "/actions/pause", data={"queue": "emails"}, headers=cookie)[0]
        == 403
    )
    form = {"queue": "emails", "csrf": "é" * 64}
    assert signed_in_posts(dashboard, "/actions/pause", [form]) == [403]
    assert signed_in_posts(dashboard, "/logout", [{"csrf": "é"}]) == [403]
    assert not paused(dashboard, "emails")


def test_an_action_goes_back_only_to_a_path_of_this_site(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    async def go() -> list[str]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(dashboard.url + "/login", data={"token": TOKEN})
            async with http.get(dashboard.url + "/") as r:
                token = CSRF.findall(await r.text())[0]
            locations = []
            for back in ("/\t/evil.example/", "/\n/evil.example/"):
                form = {"queue": "emails", "csrf": token, "back": back}
                async with http.post(
                    dashboard.url + "/actions/pause", data=form, allow_redirects=False
                ) as r:
                    locations.append(r.headers["Location"])
            return locations

    assert dashboard.run(go()) == ["/", "/"]


def put_record(r: redis.Redis, queue: str, job_id: str, name: str, payload: str) -> None:
    """A pending job as a foreign producer might write it, past any size limit."""
    record = f'{int(time.time() * 1000)}\n{{"n":{json.dumps(name)},"p":5}}\n{payload}'
    r.hset(f"brq:{{{queue}}}:jobs", job_id, record)
    r.zadd(f"brq:{{{queue}}}:pending", {job_id: 5e13})
    r.sadd("brq:queues", queue)


def test_a_megabyte_payload_is_clipped_on_the_job_page(
    r: redis.Redis, dashboard: Dashboard
) -> None:
    put_record(r, "big", "huge", "n" * 10_000, json.dumps({"blob": ["x" * 100] * 10_000}))
    status, page, _ = request(dashboard, "GET", "/queues/big/jobs/huge")
    assert status == 200
    assert len(page) < 100_000
    assert "more characters" in page and "blackroad job info huge --queue big" in page
    status, page, _ = request(dashboard, "GET", "/queues/big?state=pending")
    assert status == 200 and len(page) < 8_000  # the 10,000-character name is cut too


def test_every_job_id_links_to_its_own_page(dashboard: Dashboard, seeded: Seeded) -> None:
    # Ids may hold any printable ASCII: a slash, dot segments, ? and #, a percent sign.
    odd = ["a/b", "..", ".", "x?y#z", "%2e%2e", "a%2Fb"]

    async def enqueue(client: Client) -> None:
        for job_id in odd:
            await client.enqueue("odd", "n", {}, job_id=job_id)

    dashboard.with_client(enqueue)
    _, page, _ = request(dashboard, "GET", "/queues/odd?state=pending")
    links = [html.unescape(h) for h in re.findall(r'href="(/queues/odd/job[^"]*)"', page)]
    assert len(links) == len(odd)
    shown = []
    for link in links:
        status, job_page, _ = request(dashboard, "GET", link)
        assert status == 200, link
        shown += [html.unescape(i) for i in re.findall(r'id="job-id">([^<]*)<', job_page)]
    assert sorted(shown) == sorted(odd)
    for missing in ("/queues/odd/job", "/queues/odd/job?id=", "/queues/odd/job?id=%20x"):
        assert request(dashboard, "GET", missing)[0] == 404


def test_an_offset_past_the_end_shows_no_rows_and_a_way_back(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    _, page, _ = request(dashboard, "GET", "/queues/emails?state=pending&offset=5000&limit=2")
    assert re.search(r'id="range">pending: 0–0 of 3\b', page)
    assert 'id="next"' not in page
    assert 'id="prev" href="?state=pending&amp;offset=1&amp;limit=2"' in page  # the last page


def test_a_malformed_progress_record_is_not_a_crash(
    r: redis.Redis, dashboard: Dashboard, seeded: Seeded
) -> None:
    (running,) = seeded.running
    for foreign in ("[40, 2]", '"<b>half</b>"', '{"pct": "<i>x</i>"}'):
        r.hset("brq:{emails}:progress", running, foreign)
        status, page, _ = request(dashboard, "GET", f"/queues/emails/jobs/{running}")
        assert status == 200 and "<b>" not in page and "<i>" not in page


def test_a_session_signed_out_or_expired_cannot_act(dashboard: Dashboard, seeded: Seeded) -> None:
    async def sign_in_copy_then_sign_out() -> tuple[str, str]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(
                dashboard.url + "/login", data={"token": TOKEN}, allow_redirects=False
            ) as r:
                cookie = r.cookies[SESSION_COOKIE]
                assert cookie["max-age"] == str(SESSION_TTL_S)
            async with http.get(dashboard.url + "/") as r:
                token = CSRF.findall(await r.text())[0]
            await http.post(dashboard.url + "/logout", data={"csrf": token})
            return cookie.value, token

    stolen, token = dashboard.run(sign_in_copy_then_sign_out())
    replay = {"Cookie": f"{SESSION_COOKIE}={stolen}"}
    status, body, _ = request(
        dashboard, "POST", "/actions/pause", data={"queue": "emails", "csrf": token}, headers=replay
    )
    assert status == 403 and "not signed in" in body
    assert not paused(dashboard, "emails")


def test_sessions_expire() -> None:
    guard = Guard("a-token-of-sixteen-or-more")
    issued = guard.session_for("a-token-of-sixteen-or-more", now=1_000_000.0)
    assert issued is not None
    assert guard.valid_session(issued, now=1_000_000.0 + SESSION_TTL_S - 1)
    assert not guard.valid_session(issued, now=1_000_000.0 + SESSION_TTL_S + 1)
    assert not guard.valid_session(issued, now=1_000_000.0 - 120)  # from the future
    assert not guard.valid_session(issued.replace(".", "0."), now=1_000_000.0)
    other = Guard("a-token-of-sixteen-or-more")  # a restart: a new secret
    assert not other.valid_session(issued, now=1_000_000.0)


def test_behind_a_tls_proxy_the_session_cookie_is_secure(dashboard: Dashboard) -> None:
    async def cookie_flags(headers: dict[str, str]) -> bool:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                dashboard.url + "/login",
                data={"token": TOKEN},
                headers=headers,
                allow_redirects=False,
            ) as r,
        ):
            return bool(r.cookies[SESSION_COOKIE]["secure"])

    assert dashboard.run(cookie_flags({"X-Forwarded-Proto": "https"}))
    assert not dashboard.run(cookie_flags({}))


def test_a_form_behind_a_basic_auth_proxy_still_returns_to_its_page(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    # A browser sends the proxy's "Authorization: Basic" with every request, forms too.
    async def go() -> tuple[int, str]:
        basic = {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(dashboard.url + "/login", data={"token": TOKEN}, headers=basic)
            async with http.get(dashboard.url + "/", headers=basic) as r:
                token = CSRF.findall(await r.text())[0]
            form = {"queue": "emails", "csrf": token, "back": "/queues/emails"}
            async with http.post(
                dashboard.url + "/actions/pause", data=form, headers=basic, allow_redirects=False
            ) as r:
                return r.status, r.headers.get("Location", "")

    assert dashboard.run(go()) == (303, "/queues/emails")
    assert paused(dashboard, "emails")


def test_heavy_jobs_are_listed_without_reading_their_records(
    r: redis.Redis, dashboard: Dashboard
) -> None:
    # 200 rows of half a megabyte would be 100 MB read and decoded for one page view.
    heavy = json.dumps({"blob": ["x" * 100] * 1000})
    for n in range(3):
        put_record(r, "fat", f"heavy{n}", "big", heavy)
    put_record(r, "fat", "light", "small", '{"to": "a@x"}')
    status, page, _ = request(dashboard, "GET", "/queues/fat?state=pending")
    assert status == 200 and len(page) < 12_000
    assert page.count('<tr class="job">') == 4 and "1–4 of 4" in page
    assert page.count("bytes: open the job") == 3
    assert 'href="/queues/fat/jobs/heavy2"' in page and "a@x" in page


def test_purging_the_dead_letters_needs_a_ticked_confirmation(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    _, page, _ = request(dashboard, "GET", "/queues/emails?state=dead", signed_in=True)
    form = page[page.index('action="/actions/purge-dead"') :]
    assert re.search(r'<input type="checkbox" name="confirm" value="yes" required', form)
    bearer = {"Authorization": "Bearer " + TOKEN}
    status, body, _ = request(
        dashboard, "POST", "/actions/purge-dead", data={"queue": "emails"}, headers=bearer
    )
    assert status == 409 and "confirm" in body

    async def dead(client: Client) -> int:
        return (await client.stats("emails")).dead

    assert dashboard.with_client(dead) == 2
    status, body, _ = request(
        dashboard,
        "POST",
        "/actions/purge-dead",
        data={"queue": "emails", "confirm": "yes"},
        headers=bearer,
    )
    assert status == 200 and "2 dead jobs of emails purged" in body


def test_the_overview_of_many_queues_is_not_read_queue_by_queue(
    r: redis.Redis, dashboard: Dashboard
) -> None:
    # 1,000 queues took 0.6-0.9 s a refresh, one MULTI per queue, refreshed every second.
    r.sadd("brq:queues", *[f"q{n}" for n in range(50)])
    r.config_resetstat()
    status, body, _ = request(dashboard, "GET", "/api/overview")
    assert status == 200 and len(json.loads(body)) == 50
    multis = r.info("commandstats").get("cmdstat_multi", {"calls": 0})["calls"]
    assert multis == 2  # the activity of all, and Redis's clock for queues read the first time


def test_an_absurd_time_in_a_record_is_shown_not_a_crash(
    r: redis.Redis, dashboard: Dashboard
) -> None:
    r.hset("brq:{odd}:jobs", "far", '99999999999999999999\n{"n":"far","p":5}\n{}')
    r.zadd("brq:{odd}:pending", {"far": 5e13})
    r.sadd("brq:queues", "odd")
    for path in ("/queues/odd?state=pending", "/queues/odd/jobs/far"):
        status, page, _ = request(dashboard, "GET", path)
        assert status == 200 and "far" in page


def test_on_loopback_only_a_loopback_host_is_served(dashboard: Dashboard, seeded: Seeded) -> None:
    # DNS rebinding: a page of evil.example, its name now resolving to 127.0.0.1, would read
    # every payload through the visitor's browser; its requests carry "Host: evil.example".
    for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example"):
        status, body, _ = request(dashboard, "GET", "/api/overview", headers={"Host": host})
        assert status == 421 and "emails" not in body, host
    for host in ("localhost:8080", "127.0.0.1", "[::1]:1234", "LOCALHOST"):
        assert request(dashboard, "GET", "/api/overview", headers={"Host": host})[0] == 200


def test_a_malformed_history_progress_or_result_is_shown_raw_not_a_crash(
    r: redis.Redis, dashboard: Dashboard, seeded: Seeded
) -> None:
    dead, running, done = seeded.dead[0], seeded.running[0], seeded.completed[0]
    r.hset("brq:{emails}:hist", dead, '{"a": 1, "w": "w1"')  # cut short: not JSON
    r.hset("brq:{emails}:hist", done, '{"a": "one", "o": "<b>odd</b>"},{"x": 1}')
    r.hset("brq:{emails}:progress", running, "40% <i>done</i>")  # not JSON at all
    r.hset("brq:{emails}:result", done, "<u>not json</u>")
    status, page, _ = request(dashboard, "GET", f"/queues/emails/jobs/{dead}")
    assert status == 200 and "(unreadable history entry)" in page
    assert '<pre class="error">{"a": 1, "w": "w1"</pre>' in html.unescape(page)
    status, page, _ = request(dashboard, "GET", f"/queues/emails/jobs/{done}")
    assert status == 200 and page.count("(unreadable history entry)") == 2
    assert "&lt;u&gt;not json&lt;/u&gt;" in page and "<b>" not in page and "<u>" not in page
    status, page, _ = request(dashboard, "GET", f"/queues/emails/jobs/{running}")
    assert status == 200 and "40% &lt;i&gt;done&lt;/i&gt;" in page and "<i>" not in page
    for state in ("dead", "completed", "running"):
        assert request(dashboard, "GET", f"/queues/emails?state={state}")[0] == 200, state


def test_a_keyerror_inside_an_action_is_not_called_a_missing_field(
    dashboard: Dashboard, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    bearer = {"Authorization": "Bearer " + TOKEN}
    status, body, _ = request(
        dashboard, "POST", "/actions/retry-job", data={"queue": "emails"}, headers=bearer
    )
    assert status == 400 and "missing form field 'job'" in body

    async def broken(client: Client, form: actions.Form) -> str:
        raise KeyError("deep inside the client")  # a bug: the form had every field

    monkeypatch.setitem(actions.ACTIONS, "pause", broken)
    status, body, _ = request(
        dashboard, "POST", "/actions/pause", data={"queue": "emails"}, headers=bearer
    )
    assert status == 500 and "missing form field" not in body


def test_a_flash_message_not_set_by_the_dashboard_is_not_shown(
    dashboard: Dashboard, seeded: Seeded
) -> None:
    # Any page of a sibling subdomain (or a script) can set a cookie for this host.
    for forged in ("ok:Your token expired: sign in at evil.example", "0" * 64 + ".ok:forged"):
        status, page, headers = request(
            dashboard, "GET", "/", headers={"Cookie": f"{FLASH_COOKIE}={quote(forged)}"}
        )
        assert status == 200 and 'id="flash"' not in page
        assert "evil.example" not in page and "forged" not in page
        assert f"{FLASH_COOKIE}=" in headers.get("Set-Cookie", "")  # and it is dropped

    async def act() -> str:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(dashboard.url + "/login", data={"token": TOKEN})
            async with http.get(dashboard.url + "/") as r:
                token = CSRF.findall(await r.text())[0]
            form = {"queue": "emails", "csrf": token, "back": "/"}
            async with http.post(
                dashboard.url + "/actions/pause", data=form, allow_redirects=False
            ) as r:
                return r.cookies[FLASH_COOKIE].value

    sealed = dashboard.run(act())
    _, page, _ = request(dashboard, "GET", "/", headers={"Cookie": f"{FLASH_COOKIE}={sealed}"})
    assert 'id="flash" class="ok">queue emails paused<' in page
    altered = sealed.replace("paused", "deleted")
    _, page, _ = request(dashboard, "GET", "/", headers={"Cookie": f"{FLASH_COOKIE}={altered}"})
    assert 'id="flash"' not in page and "deleted" not in page


def test_a_malformed_worker_description_is_shown_not_a_crash(
    r: redis.Redis, dashboard: Dashboard, seeded: Seeded
) -> None:
    now = int(time.time() * 1000)
    odd = {"name": "odd", "queues": "emails", "concurrency": "lots", "heartbeat_ms": "x"}
    for name, text in (
        ("garbled", "{not json <b>"),
        ("listed", "[1, 2]"),
        ("odd", json.dumps(odd)),
    ):
        r.zadd(WORKERS, {name: now})
        r.set(worker_key(name), text)
    status, page, _ = request(dashboard, "GET", "/workers")
    assert status == 200 and "<b>" not in page
    assert "worker-a" in page and "node-1" in page  # the good one is still listed
    assert "unreadable description: {not json &lt;b&gt;" in page
    assert "unreadable description: [1, 2]" in page
    assert "unreadable: queues, concurrency, heartbeat_ms" in page
