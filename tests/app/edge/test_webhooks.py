"""The webhook edge: signatures first, clear answers for bad input, 5xx only for what may pass."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from appkit import WEBHOOK_SECRET, Gate, StartGate
from fakes.github import FakeGitHub, sign


async def post(
    gate: Gate, body: bytes, headers: dict[str, str], path: str = "/webhooks"
) -> tuple[int, Any]:
    url = gate.server.make_url(path)
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, (json.loads(text) if text.startswith("{") else text)


def signed(body: bytes, event: str = "ping", delivery: str = "d-1", **extra: str) -> dict[str, str]:
    return {
        "X-Hub-Signature-256": sign(body, WEBHOOK_SECRET),
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "Content-Type": "application/json",
        **extra,
    }


async def test_a_bad_signature_is_refused_before_anything_else(gate: Gate) -> None:
    body = json.dumps(
        gate.fake.payloads.pull_request(gate.repo, gate.repo.open_pull(1, {"a.md": "x"}), "opened")
    ).encode()
    headers = signed(body, "pull_request")
    headers["X-Hub-Signature-256"] = sign(body, "another secret")
    status, answer = await post(gate, body, headers)
    assert status == 401
    assert "does not match" in answer["message"]
    assert gate.fake.calls == []


async def test_a_missing_signature_is_refused(gate: Gate) -> None:
    body = b'{"zen": "hi"}'
    headers = signed(body)
    del headers["X-Hub-Signature-256"]
    status, answer = await post(gate, body, headers)
    assert (status, "missing X-Hub-Signature-256" in answer["message"]) == (401, True)


async def test_missing_event_or_delivery_headers_are_400(gate: Gate) -> None:
    body = b'{"zen": "hi"}'
    for header in ("X-GitHub-Event", "X-GitHub-Delivery"):
        headers = signed(body)
        del headers[header]
        status, _ = await post(gate, body, headers)
        assert status == 400


async def test_non_json_is_415(gate: Gate) -> None:
    body = b"payload=%7B%7D"
    status, _ = await post(
        gate, body, signed(body, **{"Content-Type": "application/x-www-form-urlencoded"})
    )
    assert status == 415
    body = b"{not json"
    status, answer = await post(gate, body, signed(body))
    assert (status, answer["message"]) == (415, "the body is not JSON")


async def test_over_25_mb_is_413(gate: Gate) -> None:
    body = b"x" * (25 * 1024 * 1024 + 1)
    status, _ = await post(gate, body, signed(body))
    assert status == 413


async def test_ping_and_unhandled_events_answer_200_without_calling_github(gate: Gate) -> None:
    ping = gate.fake.payloads.ping()
    assert await gate.deliver("ping", ping) == 200
    payload = gate.fake.payloads.installation_repositories(7001, added=[gate.repo])
    assert await gate.deliver("installation_repositories", payload) == 200
    assert await gate.deliver("star", {"action": "created", "repository": gate.repo.json()}) == 200
    assert gate.fake.calls == []


async def test_webhooks_are_also_accepted_at_the_root(gate: Gate) -> None:
    body = b'{"zen": "hi"}'
    status, answer = await post(gate, body, signed(body), path="/")
    assert (status, answer["message"]) == (200, "pong")


async def test_healthz_answers_without_github(gate: Gate) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gate.server.make_url("/healthz")) as response,
    ):
        assert response.status == 200
        assert (await response.json())["mode"] == "app"
    assert gate.fake.calls == []


async def test_setup_mode_refuses_webhooks_clearly(start_gate: StartGate) -> None:
    gate = await start_gate(
        github_app_id=None, github_webhook_secret=None, github_app_private_key=None
    )
    body = b'{"zen": "hi"}'
    status, answer = await post(gate, body, {**signed(body)})
    assert status == 503
    assert "setup mode" in answer["message"]


async def test_a_payload_we_cannot_act_on_is_4xx_with_the_reason(gate: Gate) -> None:
    payload = {"action": "opened", "repository": gate.repo.json(), "installation": {"id": 7001}}
    assert await gate.deliver("pull_request", payload) == 422


async def test_a_transient_github_failure_is_5xx_and_a_redelivery_is_handled_again(
    gate: Gate,
) -> None:
    pull = gate.repo.open_pull(2, {"docs/guide.md": "hello\n"})
    gate.fake.inject("POST /repos/{owner}/{repo}/check-runs", 502)
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload, delivery_id="guid-2") == 503
    assert gate.check_runs() == []
    # The same delivery again (as GitHub's redelivery sends it): handled this time, once.
    assert await gate.deliver("pull_request", payload, delivery_id="guid-2") == 200
    assert await gate.deliver("pull_request", payload, delivery_id="guid-2") == 200
    assert len(gate.check_runs()) == 1


async def test_a_removed_installation_is_permanent_2xx(gate: Gate) -> None:
    pull = gate.repo.open_pull(3, {"docs/guide.md": "hello\n"})
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    payload["installation"]["id"] = 424_000_000  # not (or no longer) installed
    assert await gate.deliver("pull_request", payload) == 200
    assert gate.check_runs() == []


async def test_a_cookie_one_answer_sets_never_rides_along_on_a_later_request(
    start_gate: StartGate, fake_github: FakeGitHub
) -> None:
    # The App's one HTTP session serves every installation: a cookie an answer sets (a load
    # balancer's, blob storage's) must not reach the next request, whoever it is for. GitHub is
    # reached by host name here too: a cookie jar would refuse a bare IP address's cookies anyway.
    by_name = fake_github.base_url.replace("//127.0.0.1:", "//localhost:")
    assert by_name != fake_github.base_url
    gate = await start_gate(github_api_url=by_name)
    pull = gate.repo.open_pull(4, {"docs/guide.md": "hello\n"})
    cookie = {"Set-Cookie": "lb=tenant-a; Path=/"}
    gate.fake.inject("POST /repos/{owner}/{repo}/check-runs", 502, headers=cookie)
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload, delivery_id="guid-4") == 503
    [failed] = [i for i, call in enumerate(gate.fake.calls) if call.injected]
    assert await gate.deliver("pull_request", payload, delivery_id="guid-4") == 200
    later = gate.fake.calls[failed + 1 :]
    assert len(gate.check_runs()) == 1  # it went on past the failure
    assert later
    assert not [c for c in later if any(k.lower() == "cookie" for k in c.headers)]
