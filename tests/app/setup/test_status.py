"""The status page and /readyz check with GitHub, through the front door, against the fake.

Issue 15: with fake credentials and an unreachable GitHub, the page said "configured and
receiving webhooks" and /healthz said ok. Now the page says only what GitHub confirmed, and
/readyz fails while GitHub cannot be reached or refuses the credentials; /healthz stays liveness.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from appkit import ADMIN_TOKEN, INSTALLATION_ID, WEBHOOK_SECRET, Gate, StartGate, free_port
from fakes.github import FakeGitHub
from fakes.github.auth import generate_private_key_pem
from fakes.github.state import Repo
from pydantic import SecretStr

from app.edge.probes import READINESS

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


async def get(gate: Gate, path: str, **kwargs: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(gate.url(path), **kwargs) as answer:
        return answer.status, await answer.text()


async def ready(gate: Gate) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(gate.url("/readyz")) as answer:
        return answer.status, await answer.json()


def installed_elsewhere(fake: FakeGitHub) -> None:
    """A second installation, on an organisation with three repositories."""
    fake.add_installation(7002, "acme-docs")
    for number, name in enumerate(("handbook", "policies", "runbooks")):
        fake.add_repo(f"acme-docs/{name}", repo_id=9100 + number, installation_id=7002)


async def test_the_status_page_shows_what_github_says_about_the_app(
    fake_github: FakeGitHub, start_gate: StartGate, repo: Repo
) -> None:
    installed_elsewhere(fake_github)
    gate = await start_gate(public_url="https://gate.example.com")
    fake_github.webhook_url = gate.url("/webhooks")  # where GitHub delivers
    assert await fake_github.deliver("ping", {"zen": "Anything added dilutes everything else."})
    fake_github.webhook_secret = "a-rotated-secret"
    assert await fake_github.deliver("ping", {"zen": "x"}, delivery_id="refused-1") == 401
    fake_github.webhook_secret = WEBHOOK_SECRET

    status, html = await get(gate, "/", headers=ADMIN)
    assert status == 200
    text = plain(html)
    assert "canon-gate is running as canon-gate" in text
    assert (
        f"GitHub accepts this server's credentials for canon-gate (App ID {fake_github.app_id}"
        in text
    )
    # The App's webhook as GitHub has it, and that it is not where PUBLIC_URL says.
    assert "GitHub delivers to" in text
    assert "https://gate.example.com/webhooks" in text
    assert "id='hook-mismatch'" in html
    # Installations and the repositories each reaches.
    assert "octo-org" in text
    assert "octo-org/handbook" in text
    assert "acme-docs" in text
    assert "acme-docs/policies" in text
    # The delivery log, newest first, the failure highlighted with what to do.
    rows = re.findall(r"<tr( class='failed')?><td>.*?</tr>", html)
    assert [bool(failed) for failed in rows] == [True, False]
    assert "1 of these failed" in text
    assert "Redeliver" in text
    assert "a 4xx is a refusal" in text.lower()
    # What it read: GET /app with the JWT, the hook, the log, installations, their repositories.
    assert fake_github.calls_to("GET", "/app")[-1].auth == "jwt"
    assert fake_github.calls_to("GET", "/app/hook/config")
    assert fake_github.calls_to("GET", "/app/hook/deliveries")
    listed = fake_github.calls_to("GET", "/installation/repositories")
    assert len(listed) == 2
    # Tokens that can only list: metadata read, nothing else.
    minted = fake_github.calls_to("POST", "/app/installations/{installation_id}/access_tokens")
    assert {str(c.json) for c in minted} == {"{'permissions': {'metadata': 'read'}}"}
    # Never a secret.
    assert WEBHOOK_SECRET not in html
    assert "BEGIN" not in html
    assert ADMIN_TOKEN not in html


async def test_the_status_page_needs_the_admin_token(start_gate: StartGate) -> None:
    gate = await start_gate()
    status, html = await get(gate, "/")
    assert status == 401
    assert "octo-org" not in html


async def test_refused_credentials_are_said_plainly_and_make_readyz_fail(
    fake_github: FakeGitHub, start_gate: StartGate, repo: Repo
) -> None:
    # A key GitHub does not know for this App: as after a key was deleted in its settings.
    gate = await start_gate(github_app_private_key=SecretStr(generate_private_key_pem()))
    status, html = await get(gate, "/", headers=ADMIN)
    assert status == 200
    text = plain(html)
    assert "GitHub refuses this App's credentials" in text
    assert "GitHub answered 401" in text
    assert "GITHUB_APP_PRIVATE_KEY" in text
    assert "is running" not in text
    assert "octo-org" not in text  # nothing GitHub did not confirm

    status, body = await ready(gate)
    assert (status, body["status"], body["kind"]) == (503, "unready", "refused")
    assert "401" in body["reason"]
    async with aiohttp.ClientSession() as http, http.get(gate.url("/healthz")) as health:
        assert (health.status, (await health.json())["status"]) == (200, "ok")


async def test_an_unreachable_github_is_said_plainly_and_makes_readyz_fail(
    start_gate: StartGate,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    gate = await start_gate(github_api_url=nowhere)
    status, html = await get(gate, "/", headers=ADMIN)
    assert status == 200
    text = plain(html)
    assert "GitHub cannot be reached" in text
    assert f"could not reach {nowhere}" in text
    assert "is running" not in text

    status, body = await ready(gate)
    assert (status, body["kind"]) == (503, "unreachable")
    assert nowhere in body["reason"]
    async with aiohttp.ClientSession() as http, http.get(gate.url("/healthz")) as health:
        assert health.status == 200


async def test_readyz_asks_github_at_most_once_per_interval_and_follows_it(
    fake_github: FakeGitHub, start_gate: StartGate
) -> None:
    gate = await start_gate()
    for _ in range(5):
        assert await ready(gate) == (200, {"status": "ok", "mode": "app", "app": "canon-gate"})
    assert len(fake_github.calls_to("GET", "/app")) == 1

    # GitHub goes down: once the cached answer is stale, readiness fails with the reason.
    fake_github.inject("GET /app", 502, times=-1)
    gate.server.app[READINESS].checked_at = float("-inf")
    status, body = await ready(gate)
    assert (status, body["kind"]) == (503, "unreachable")
    assert "502" in body["reason"]
    fake_github.faults.pending.clear()
    gate.server.app[READINESS].checked_at = float("-inf")
    assert (await ready(gate))[0] == 200


async def test_readyz_in_setup_mode_is_ready_to_serve_the_setup_page(
    fake_github: FakeGitHub, start_gate: StartGate
) -> None:
    gate = await start_gate(github_app_id=None, github_app_private_key=None)
    assert await ready(gate) == (200, {"status": "ok", "mode": "setup"})
    assert fake_github.calls == []


async def test_an_installation_that_cannot_list_says_so_on_its_own_row(
    fake_github: FakeGitHub, start_gate: StartGate, repo: Repo
) -> None:
    fake_github.installations[INSTALLATION_ID].suspended = True
    gate = await start_gate()
    status, html = await get(gate, "/", headers=ADMIN)
    text = plain(html)
    assert status == 200
    assert "canon-gate is running" in text
    assert "suspended" in text
    assert "Repositories unavailable: GitHub answered 403" in text


async def test_with_nothing_delivered_and_no_installation_the_page_says_so(
    fake_github: FakeGitHub, start_gate: StartGate
) -> None:
    gate = await start_gate()
    fake_github.installations.clear()  # (the `repo` fixture installed it; uninstalled since)
    fake_github.repos.clear()
    status, html = await get(gate, "/", headers=ADMIN)
    text = plain(html)
    assert status == 200
    assert "Not installed on any account yet" in text
    assert "id='install'" in html
    assert "GitHub has delivered nothing to this App in the last 3 days" in text
