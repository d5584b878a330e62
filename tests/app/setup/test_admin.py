"""The operator's pages need the admin token, over real HTTP; webhooks and /healthz stay open.

Issue 9 (suspected, confirmed): `/setup` let the first visitor register their own App on this
server, and the status page and /metrics answered anyone.
"""

from __future__ import annotations

import json
import re
import time
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from appkit import ADMIN_TOKEN, WEBHOOK_SECRET, Gate, StartGate, free_port, register
from fakes.github import FakeGitHub, sign
from pydantic import SecretStr

from app.setup.admin import COOKIE, COOKIE_TTL_SECONDS, cookie_value

NO_CREDENTIALS = {"github_app_id": None, "github_app_private_key": None}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PAGES = [("GET", "/"), ("HEAD", "/"), ("GET", "/setup"), ("POST", "/setup/register")]


async def fetch(
    gate: Gate, method: str, path: str, **kwargs: Any
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.request(method, gate.url(path), allow_redirects=False, **kwargs) as response,
    ):
        return response.status, await response.text(), response


def plain(html: str) -> str:
    """The page's text without its tags (a product name is kept on one line by a span)."""
    return re.sub(r"<[^>]+>", "", html)


def jar_cookie(response: aiohttp.ClientResponse) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookie.load(header)
    return cookie


@pytest.mark.parametrize("mode", ["setup", "app"])
async def test_a_visitor_without_the_token_gets_the_sign_in_page_not_the_operators(
    start_gate: StartGate, mode: str
) -> None:
    gate = await start_gate(**(NO_CREDENTIALS if mode == "setup" else {}))
    form = {"manifest": "{}", "organization": "acme"}
    for method, path in PAGES:
        status, html, response = await fetch(gate, method, path, data=form)
        assert status == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["X-Frame-Options"] == "DENY"
        if method != "HEAD":
            assert "Sign in to canon-gate" in plain(html)
            assert "Register GitHub App" not in html
            assert "App ID" not in html
        assert "Location" not in response.headers  # never on to GitHub's "new App" page
    assert gate.fake.calls == []


async def test_webhooks_health_and_metrics_stay_open(gate: Gate) -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    headers = {
        "X-Hub-Signature-256": sign(body, WEBHOOK_SECRET),
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "open-1",
        "Content-Type": "application/json",
    }
    for path in ("/", "/webhooks"):
        status, text, _ = await fetch(gate, "POST", path, data=body, headers=headers)
        assert (status, json.loads(text)["message"]) == (200, "pong")
    assert (await fetch(gate, "GET", "/healthz"))[0] == 200
    status, text, _ = await fetch(gate, "GET", "/metrics")
    assert status == 200
    assert "canon_gate" in text


async def test_the_bearer_token_opens_the_pages_and_nothing_else_does(gate: Gate) -> None:
    status, html, _ = await fetch(gate, "GET", "/", headers=ADMIN)
    assert status == 200
    assert "canon-gate is running" in plain(html)
    near_misses = [
        f"Bearer {ADMIN_TOKEN}x",
        f"Bearer {ADMIN_TOKEN[:-1]}",
        f"Basic {ADMIN_TOKEN}",
        ADMIN_TOKEN,
        "Bearer ",
        "Bearer ☃",
    ]
    for value in near_misses:
        status, _, _ = await fetch(gate, "GET", "/", headers={"Authorization": value})
        assert status == 401, value


async def test_signing_in_sets_a_strict_http_only_cookie_made_from_the_token(gate: Gate) -> None:
    form = {"token": ADMIN_TOKEN, "next": "/setup"}
    status, _, response = await fetch(gate, "POST", "/login", data=form)
    assert (status, response.headers["Location"]) == (303, "/setup")
    cookie = jar_cookie(response)[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == COOKIE_TTL_SECONDS
    assert ADMIN_TOKEN not in cookie.value
    status, html, _ = await fetch(gate, "GET", "/", cookies={COOKIE: cookie.value})
    assert (status, "canon-gate is running" in plain(html)) == (200, True)


async def test_sign_in_goes_back_only_to_a_page_of_this_server(gate: Gate) -> None:
    for next_path in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil"):
        form = {"token": ADMIN_TOKEN, "next": next_path}
        status, _, response = await fetch(gate, "POST", "/login", data=form)
        assert (status, response.headers["Location"]) == (303, "/")


async def test_a_wrong_token_is_refused_and_never_echoed(
    gate: Gate, caplog: pytest.LogCaptureFixture
) -> None:
    guess = "guessed-token-1234"
    status, html, response = await fetch(gate, "POST", "/login", data={"token": guess, "next": "/"})
    assert status == 401
    assert "not this server's admin token" in html
    assert guess not in html
    assert COOKIE not in jar_cookie(response)
    status, html, _ = await fetch(gate, "GET", f"/setup?token={guess}")
    assert (status, guess in html) == (401, False)
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert "admin.refused" in logged
    assert guess not in logged
    assert ADMIN_TOKEN not in logged


async def test_a_token_in_the_address_signs_in_and_leaves_the_address(gate: Gate) -> None:
    status, _, response = await fetch(gate, "GET", f"/setup?token={ADMIN_TOKEN}&x=1")
    assert (status, response.headers["Location"]) == (303, "/setup?x=1")
    cookie = jar_cookie(response)[COOKIE]
    status, html, _ = await fetch(gate, "GET", "/setup", cookies={COOKIE: cookie.value})
    assert (status, "canon-gate is running" in plain(html)) == (200, True)


async def test_an_expired_forged_or_foreign_cookie_is_refused(gate: Gate) -> None:
    token = SecretStr(ADMIN_TOKEN)
    stale = cookie_value(token, time.time() - COOKIE_TTL_SECONDS - 60)
    other = cookie_value(SecretStr("another server's token"), time.time())
    expiry = int(time.time()) + 3600
    for value in (stale, other, f"{expiry}.{'0' * 64}", f"{expiry + 1}.{stale.split('.')[1]}", ""):
        status, _, _ = await fetch(gate, "GET", "/", cookies={COOKIE: value})
        assert status == 401, value


async def test_metrics_need_the_token_when_asked(start_gate: StartGate) -> None:
    gate = await start_gate(metrics_require_token=True)
    assert (await fetch(gate, "GET", "/metrics"))[0] == 401
    assert (await fetch(gate, "GET", "/metrics", headers=ADMIN))[0] == 200
    # A scraper's `params`: served at once, no redirect and no cookie.
    status, text, response = await fetch(gate, "GET", f"/metrics?token={ADMIN_TOKEN}")
    assert (status, "Set-Cookie" in response.headers) == (200, False)
    assert "canon_gate" in text
    assert (await fetch(gate, "GET", "/healthz"))[0] == 200


async def test_without_a_token_the_pages_stay_locked(start_gate: StartGate) -> None:
    gate = await start_gate(admin_token=None, **NO_CREDENTIALS)
    status, html, _ = await fetch(gate, "GET", "/setup")
    assert status == 503
    assert "CANON_GATE_ADMIN_TOKEN" in html
    for token in ("", "None"):
        status, _, _ = await fetch(gate, "POST", "/login", data={"token": token})
        assert status == 401


async def test_the_callback_needs_no_cookie_its_signed_state_guards_it(
    fake_github: FakeGitHub, start_gate: StartGate
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    gate = await start_gate(port=port, public_url=public, **NO_CREDENTIALS)
    async with aiohttp.ClientSession() as http:
        back, _ = await register(http, public)
    # GitHub's redirect comes from another site: a SameSite=Strict cookie would not arrive.
    status, html, _ = await fetch(gate, "GET", back.removeprefix(public))
    assert status == 200
    assert "Your GitHub App is ready" in html
    assert (await fetch(gate, "GET", "/healthz"))[0] == 200


async def test_registering_without_the_token_never_reaches_github(
    fake_github: FakeGitHub, start_gate: StartGate
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    gate = await start_gate(port=port, public_url=public, **NO_CREDENTIALS)
    apps = set(fake_github.apps)
    form = {"manifest": "{}", "organization": ""}
    status, _, response = await fetch(gate, "POST", "/setup/register", data=form)
    assert (status, "Location" in response.headers) == (401, False)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(AssertionError):
            await register(http, public, token="not-the-token")
    assert set(fake_github.apps) == apps
    assert (await fetch(gate, "GET", "/healthz"))[0] == 200
