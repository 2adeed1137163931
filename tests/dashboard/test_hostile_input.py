"""The dashboard against hostile requests and odd records: refusals, never a 500 or a detour."""

from __future__ import annotations

import aiohttp

from tests.dashboard.conftest import TOKEN, Dashboard
from tests.dashboard.seed import Seeded
from tests.dashboard.test_http import CSRF, paused, request


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
