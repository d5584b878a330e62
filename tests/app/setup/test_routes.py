"""Registration through the App Manifest flow, over HTTP, against the fake GitHub's web host.

The browser test (test_browser.py) clicks through the same flow in Chromium; these tests cover
the refusals and the mode switch quickly, without a browser.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import aiohttp
from appkit import ADMIN_TOKEN, StartGate, form_value, free_port, register
from fakes.github import FakeGitHub

from app.edge.settings import Settings


def plain(html: str) -> str:
    """The page's text without its tags (chips and product names are spans)."""
    return re.sub(r"<[^>]+>", "", html)


NO_CREDENTIALS = {
    "github_app_id": None,
    "github_app_private_key": None,
    "github_webhook_secret": None,
}
# The operator's pages need the admin token; GitHub's redirect back to the callback carries none.
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_registration_stores_credentials_and_switches_to_app_mode(
    fake_github: FakeGitHub, start_gate: StartGate, tmp_path: Path
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = tmp_path / ".env"
    env.write_text("PORT=3999\n# kept\n")
    app = await start_gate(port=port, public_url=public, **NO_CREDENTIALS)
    async with aiohttp.ClientSession() as http:
        async with http.get(app.url("/healthz")) as health:
            assert (await health.json())["mode"] == "setup"
        back, _query = await register(http, public, organization="acme")
        assert back.startswith(f"{public}/setup/callback?")
        async with http.get(back) as done:
            page = await done.text()
            assert done.status == 200, page
        async with http.get(app.url("/healthz")) as health:
            assert (await health.json())["mode"] == "app"

    new_app = fake_github.apps[max(fake_github.apps)]
    assert new_app.owner == "acme"
    # The manifest GitHub received: our URLs, our permissions.
    assert f"/apps/{new_app.slug}/installations/new" in page
    assert "canon-gate init" in page
    assert "CLAUDE_CODE_OAUTH_TOKEN" in page
    assert "BEGIN" not in page
    assert "whsec_" not in page

    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    text = env.read_text()
    assert text.startswith("PORT=3999\n# kept\n")
    stored = Settings(_env_file=env)
    assert stored.github_app_id == new_app.id
    assert stored.github_app_slug == new_app.slug
    assert stored.configured
    assert stored.github_app_private_key is not None
    assert "BEGIN" in stored.github_app_private_key.get_secret_value()
    assert "GITHUB_APP_CLIENT_ID=" in text
    assert "GITHUB_APP_CLIENT_SECRET=" in text

    # The running server now verifies webhooks with the new secret.
    assert stored.github_webhook_secret is not None
    fake_github.webhook_secret = stored.github_webhook_secret.get_secret_value()
    assert await fake_github.deliver("ping", {"zen": "Keep it logically awesome."}) == 200
    fake_github.webhook_secret = "not-the-secret"
    assert await fake_github.deliver("ping", {"zen": "x"}) == 401

    # In App mode the pages show the status, and the callback cannot be replayed: it sends
    # the browser to the status page, which needs the token.
    async with aiohttp.ClientSession() as http:
        async with http.get(public + "/", headers=ADMIN) as status:
            html = await status.text()
            assert f"{new_app.id}" in html
            assert "installations/new" in html
            assert "BEGIN" not in html
            assert "whsec_" not in html
        async with http.get(back, allow_redirects=False) as again:
            assert (again.status, again.headers["Location"]) == (303, "/")
        async with http.get(back, headers=ADMIN) as again:
            assert "canon-gate is running" in plain(await again.text())
        async with http.get(back) as again:
            assert again.status == 401
            assert str(new_app.id) not in await again.text()


async def test_the_manifest_sent_to_github_is_filled_from_the_public_url(
    fake_github: FakeGitHub, start_gate: StartGate
) -> None:
    app = await start_gate(public_url="https://gate.example.com", **NO_CREDENTIALS)
    async with aiohttp.ClientSession() as http, http.get(app.url("/"), headers=ADMIN) as page:
        manifest = json.loads(form_value(await page.text(), "manifest"))
    assert manifest["hook_attributes"]["url"] == "https://gate.example.com/webhooks"
    assert manifest["redirect_url"] == "https://gate.example.com/setup/callback"
    assert manifest["default_permissions"]["checks"] == "write"


async def test_a_callback_with_a_bad_state_changes_nothing(
    fake_github: FakeGitHub, start_gate: StartGate, tmp_path: Path
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    app = await start_gate(port=port, public_url=public, **NO_CREDENTIALS)
    async with aiohttp.ClientSession() as http:
        back, query = await register(http, public)
        forged = back.replace(query["state"], query["state"][:-2] + "xx")
        for url in (forged, f"{public}/setup/callback?code={query['code']}"):
            async with http.get(url) as refused:
                assert refused.status == 400
                assert "Registration was not finished" in await refused.text()
        async with http.get(app.url("/healthz")) as health:
            assert (await health.json())["mode"] == "setup"
    assert not (tmp_path / ".env").exists()
    # The code was never redeemed.
    assert not fake_github.calls_to("POST", "/app-manifests/{code}/conversions")


async def test_an_expired_code_says_so_and_stays_in_setup_mode(
    fake_github: FakeGitHub, start_gate: StartGate, tmp_path: Path
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    app = await start_gate(port=port, public_url=public, **NO_CREDENTIALS)
    async with aiohttp.ClientSession() as http:
        back, _ = await register(http, public)
        fake_github.advance(3601)  # GitHub's code lives an hour
        async with http.get(back) as answer:
            assert answer.status == 502
            assert "expires after an hour" in await answer.text()
        async with http.get(app.url("/healthz")) as health:
            assert (await health.json())["mode"] == "setup"
    assert not (tmp_path / ".env").exists()


async def test_a_bad_organisation_name_is_refused_before_github(start_gate: StartGate) -> None:
    app = await start_gate(**NO_CREDENTIALS)
    async with aiohttp.ClientSession() as http:
        form = {"manifest": "{}", "organization": "../../evil"}
        async with http.post(
            app.url("/setup/register"), data=form, headers=ADMIN, allow_redirects=False
        ) as r:
            assert r.status == 400
            assert "&#x27;../../evil&#x27;" in await r.text()


async def test_the_setup_page_warns_when_the_public_url_is_a_guess(start_gate: StartGate) -> None:
    app = await start_gate(public_url=None, **NO_CREDENTIALS)
    async with aiohttp.ClientSession() as http, http.get(app.url("/"), headers=ADMIN) as page:
        html = await page.text()
    assert "PUBLIC_URL is not set" in plain(html)
    assert app.url("/webhooks") in plain(html)
    assert page.headers["X-Frame-Options"] == "DENY"


async def test_in_app_mode_setup_shows_status_and_refuses_to_register(
    start_gate: StartGate,
) -> None:
    app = await start_gate(github_app_slug="canon-gate")
    async with aiohttp.ClientSession() as http:
        async with http.get(app.url("/setup"), headers=ADMIN) as page:
            html = await page.text()
        assert "canon-gate is running" in plain(html)
        assert "/apps/canon-gate/installations/new" in html
        assert "ops-webhook-secret" not in html
        assert "PRIVATE KEY" not in html
        async with http.post(
            app.url("/setup/register"),
            data={"manifest": "{}"},
            headers=ADMIN,
            allow_redirects=False,
        ) as again:
            assert again.status == 303
