"""WEBHOOK_PROXY_URL: deliveries through a smee.io-style channel, against a local fake channel.

The fake channel does what smee.io does (probot/smee.io, lib/server.js): a POST to a channel is
relayed to every listener as a server-sent event whose data is the request's lowercased headers,
its parsed `body`, `query` and a `timestamp`, encoded as JavaScript's JSON.stringify would; it
says `ready` when a listener connects. Anyone may post to a channel, so each delivery must pass
the App's signature check exactly as a direct one does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from appkit import WEBHOOK_SECRET, Gate, StartGate, free_port
from fakes.github import FakeGitHub, sign
from fakes.github.state import Repo

from app.edge import sse
from app.edge.proxy import PROXY, forward_of, local_target, next_delay, raw_member
from app.edge.settings import Settings


def stringify(value: Any) -> str:
    """JSON as JavaScript's JSON.stringify writes it: compact, non-ASCII as it is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class FakeChannel:
    """A smee.io channel: POSTs in, server-sent events out, to every listener."""

    def __init__(self, retry_ms: int = 50) -> None:
        self.listeners: list[asyncio.Queue[str | None]] = []
        self.retry_ms = retry_ms
        self.last_event_ids: list[str | None] = []
        self.connected = asyncio.Event()
        self.count = 0
        self.app = web.Application()
        self.app.router.add_get("/{channel}", self.listen)
        self.app.router.add_post("/{channel}", self.receive)

    def _event(self, data: str, kind: str | None = None) -> str:
        self.count += 1
        head = f"id: {self.count}\n" + (f"event: {kind}\n" if kind else "")
        return f"{head}data: {data}\n\n"

    async def listen(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Accept") != "text/event-stream":
            return web.Response(
                text="<html>the channel's web page</html>", content_type="text/html"
            )
        self.last_event_ids.append(request.headers.get("Last-Event-ID"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.listeners.append(queue)
        await response.write(f"retry: {self.retry_ms}\n".encode())
        await response.write(self._event("{}", "ready").encode())
        self.connected.set()
        try:
            while (text := await queue.get()) is not None:
                await response.write(text.encode())
        finally:
            self.listeners.remove(queue)
        return response

    async def receive(self, request: web.Request) -> web.Response:
        relayed = {
            **{k.lower(): v for k, v in request.headers.items()},
            "body": await request.json(),
            "query": dict(request.query),
            "timestamp": int(time.time() * 1000),
        }
        self.send(stringify(relayed))
        return web.Response(status=200)

    def send(self, data: str, kind: str | None = None) -> None:
        text = self._event(data, kind)
        for queue in self.listeners:
            queue.put_nowait(text)

    def drop(self) -> None:
        """Close every listener's stream, as a server restart would."""
        self.connected.clear()
        for queue in list(self.listeners):
            queue.put_nowait(None)


@pytest.fixture
async def channel() -> AsyncIterator[tuple[FakeChannel, str]]:
    fake = FakeChannel()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("/AbCdEf0123456789"))
    finally:
        fake.drop()
        await server.close()


async def through_proxy(start_gate: StartGate, channel_url: str) -> Gate:
    port = free_port()
    gate = await start_gate(port=port, PORT=port, host="127.0.0.1", webhook_proxy_url=channel_url)
    return gate


async def post_to_channel(
    url: str, event: str, body: bytes, *, secret: str = WEBHOOK_SECRET, delivery: str = "d-1"
) -> int:
    """Deliver to the channel as GitHub does: signed, with GitHub's headers."""
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
    }
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_a_delivery_through_the_channel_is_handled_like_a_direct_one(
    fake_github: FakeGitHub,
    start_gate: StartGate,
    repo: Repo,
    channel: tuple[FakeChannel, str],
) -> None:
    fake, url = channel
    gate = await through_proxy(start_gate, url)
    await asyncio.wait_for(fake.connected.wait(), 5)
    pull = repo.open_pull(12, {"docs/guide.md": "# Guide: «canon» <b>&</b> \u2028 naïve\n"})
    payload = fake_github.payloads.pull_request(repo, pull, "opened")
    payload["pull_request"]["body"] = 'Ünïcode, <tags> & "quotes" \u2028 and a \\ backslash'
    assert await post_to_channel(url, "pull_request", stringify(payload).encode()) == 200

    state = gate.server.app[PROXY]
    await eventually(lambda: state.forwarded == 1)
    [check] = [c for c in repo.check_runs.values() if c.name == "canon-gate"]
    assert check.head_sha == pull.head_sha
    assert state.connected
    assert state.refused == 0


async def test_a_forged_delivery_on_the_channel_is_refused_and_the_relay_goes_on(
    fake_github: FakeGitHub,
    start_gate: StartGate,
    repo: Repo,
    channel: tuple[FakeChannel, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, url = channel
    gate = await through_proxy(start_gate, url)
    await asyncio.wait_for(fake.connected.wait(), 5)
    state = gate.server.app[PROXY]
    pull = repo.open_pull(12, {"docs/guide.md": "# Guide\n"})
    body = stringify(fake_github.payloads.pull_request(repo, pull, "opened")).encode()

    # Anyone who knows the channel can post to it: without the secret, nothing happens.
    assert await post_to_channel(url, "pull_request", body, secret="guessed", delivery="f-1") == 200
    # Nor does a delivery the channel changed on the way (here, re-spaced), since GitHub
    # signed other bytes: smee.io's re-encoding can do this, and the App must refuse it.
    spaced = json.dumps(json.loads(body)).encode()
    fake.send(
        stringify(
            {
                "x-github-event": "pull_request",
                "x-github-delivery": "f-2",
                "x-hub-signature-256": sign(spaced, WEBHOOK_SECRET),
                "body": json.loads(body),
            }
        )
    )
    # Junk on the channel is skipped.
    fake.send("not json")
    fake.send(stringify({"x-github-event": "ping"}))
    await eventually(lambda: state.refused == 2)
    assert repo.check_runs == {}
    refused = [r for r in caplog.records if r.getMessage() == "proxy.refused"]
    assert [r.__dict__["status"] for r in refused] == [401, 401]

    # The relay goes on: the genuine delivery that follows is handled.
    assert await post_to_channel(url, "pull_request", body, delivery="ok-1") == 200
    await eventually(lambda: state.forwarded == 1)
    names = sorted(c.name for c in repo.check_runs.values())
    assert names == ["canon-gate", "canon-gate/structure"]


async def test_the_relay_reconnects_and_says_where_it_stopped(
    fake_github: FakeGitHub,
    start_gate: StartGate,
    repo: Repo,
    channel: tuple[FakeChannel, str],
) -> None:
    fake, url = channel
    gate = await through_proxy(start_gate, url)
    await asyncio.wait_for(fake.connected.wait(), 5)
    state = gate.server.app[PROXY]
    fake.drop()
    await eventually(lambda: len(fake.last_event_ids) == 2 and fake.connected.is_set())
    # It resumes from the last event it saw (smee.io ignores that; other channels use it).
    assert fake.last_event_ids == [None, "1"]
    assert state.connected
    ping = stringify({"zen": "Approachable is better than simple."}).encode()
    assert await post_to_channel(url, "ping", ping, delivery="p-1") == 200
    await eventually(lambda: state.forwarded == 1)


async def test_while_the_channel_is_down_the_status_page_says_so(
    start_gate: StartGate, repo: Repo
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/channel"
    gate = await through_proxy(start_gate, nowhere)
    state = gate.server.app[PROXY]
    await eventually(lambda: state.last_error is not None)
    assert not state.connected
    headers = {"Authorization": "Bearer admin-token-for-tests"}
    async with aiohttp.ClientSession() as http, http.get(gate.url("/"), headers=headers) as page:
        html = await page.text()
    assert "not connected" in html
    assert "development only" in html


async def test_registration_names_the_channel_as_the_webhook_url(
    start_gate: StartGate, channel: tuple[FakeChannel, str]
) -> None:
    _, url = channel
    gate = await start_gate(github_app_id=None, github_app_private_key=None, webhook_proxy_url=url)
    headers = {"Authorization": "Bearer admin-token-for-tests"}
    async with aiohttp.ClientSession() as http, http.get(gate.url("/setup"), headers=headers) as r:
        html = await r.text()
    assert "proxy channel" in html
    manifest = json.loads(
        html.split("name='manifest' value='", 1)[1].split("'", 1)[0].replace("&quot;", '"')
    )
    assert manifest["hook_attributes"]["url"] == url
    assert manifest["redirect_url"].startswith("http://127.0.0.1:")


# The pure parts.


def test_the_body_is_forwarded_exactly_as_the_channel_wrote_it() -> None:
    data = '{"x-github-event":"ping", "body" : {"a":[1,2.50,"\\u00e9"],"b":{}} ,"query":{}}'
    assert raw_member(data, "body") == '{"a":[1,2.50,"\\u00e9"],"b":{}}'
    assert raw_member(data, "query") == "{}"
    assert raw_member(data, "missing") is None
    forward = forward_of(data)
    assert forward is not None
    assert forward.body == b'{"a":[1,2.50,"\\u00e9"],"b":{}}'
    assert forward.headers == {"x-github-event": "ping", "content-type": "application/json"}


def test_only_githubs_headers_are_forwarded() -> None:
    data = stringify(
        {
            "host": "smee.io",
            "x-github-event": "ping",
            "x-github-delivery": "d",
            "x-hub-signature-256": "sha256=00",
            "content-length": "999",
            "x-forwarded-for": "1.2.3.4",
            "authorization": "Bearer someone-elses",
            "body": {},
        }
    )
    forward = forward_of(data)
    assert forward is not None
    assert set(forward.headers) == {
        "x-github-event",
        "x-github-delivery",
        "x-hub-signature-256",
        "content-type",
    }
    assert forward_of("[1]") is None
    assert forward_of("{}") is None
    assert forward_of("{oops") is None


def test_event_stream_lines_may_end_anyhow_and_split_anywhere() -> None:
    text = b"retry: 250\r\n: a comment\r\nid: 7\r\nevent: ready\r\ndata: {}\r\n\r\n"
    text += b"data: a\rdata: b\r\r\n"
    whole = sse.Parser(1000)
    events = whole.feed(text)
    assert events == [sse.Event("ready", "{}", "7"), sse.Event("message", "a\nb", "7")]
    assert whole.retry_ms == 250
    split = sse.Parser(1000)
    pieces = [split.feed(text[i : i + 1]) for i in range(len(text))]
    assert [event for piece in pieces for event in piece] == events


def test_an_event_larger_than_a_delivery_can_be_is_refused() -> None:
    parser = sse.Parser(100)
    with pytest.raises(sse.StreamError):
        parser.feed(b"data: " + b"x" * 200)
    parser = sse.Parser(100)
    with pytest.raises(sse.StreamError):
        parser.feed(b"data: " + b"x" * 60 + b"\ndata: " + b"x" * 60 + b"\n")


def test_reconnects_back_off_up_to_thirty_seconds_or_as_the_server_asks() -> None:
    delays = []
    delay = 0.0
    for _ in range(8):
        delay = next_delay(delay, None)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert next_delay(8.0, 250) == 0.25


def test_the_relay_posts_to_this_servers_own_address() -> None:
    def target(host: str) -> str:
        return local_target(Settings(_env_file=None, host=host, PORT=4000))  # type: ignore[call-arg]

    assert target("0.0.0.0") == "http://127.0.0.1:4000/webhooks"  # noqa: S104
    assert target("::") == "http://[::1]:4000/webhooks"
    assert target("192.0.2.7") == "http://192.0.2.7:4000/webhooks"
