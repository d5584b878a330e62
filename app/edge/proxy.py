"""WEBHOOK_PROXY_URL: receive deliveries through a smee.io-style channel, for local development.

GitHub cannot reach a laptop, so it delivers to a public channel instead, and this reads the
channel's server-sent events. Each `message` event's data is the delivery as the channel got it:
its headers (lowercased), `body` and `query`. The relay POSTs the body, exactly as the channel
carries it, with only the headers GitHub sends, to this server's own `/webhooks`. So a delivery
through the channel passes the same signature check as a direct one: anyone who knows a
channel's address can post to it, and nothing from it is trusted.

smee.io re-encodes the JSON body it relays; where that changes the bytes GitHub signed, the
signature no longer matches and the App refuses the delivery, as it must.
https://github.com/probot/smee-client (the protocol); https://smee.io
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from app.edge import sse
from app.edge.runtime import RUNTIME
from app.edge.settings import Settings
from app.edge.webhooks import MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)

# What GitHub sends that the App reads; anything else the channel adds (its host, its own
# forwarding headers, a Content-Length of the re-encoded body) is dropped.
FORWARDED_HEADERS = (
    "x-github-event",
    "x-github-delivery",
    "x-hub-signature-256",
    "x-github-hook-id",
    "x-github-hook-installation-target-type",
    "x-github-hook-installation-target-id",
    "user-agent",
)
# A delivery is at most 25 MB; the event around it adds the headers.
MAX_EVENT_BYTES = MAX_PAYLOAD_BYTES + 1024 * 1024
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
# GitHub gives a delivery 10 s; the App answers within its own budget before that.
FORWARD_TIMEOUT_SECONDS = 15.0


@dataclass
class ProxyState:
    """What the status page shows about the channel."""

    channel: str
    connected: bool = False
    last_error: str | None = None
    forwarded: int = 0
    refused: int = 0


@dataclass(frozen=True)
class Forward:
    """One delivery to POST to this server: GitHub's headers and the body as relayed."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def raw_member(text: str, key: str) -> str | None:
    """The exact text of a top-level member's value in a JSON object; None when absent.

    The body is forwarded as the channel wrote it, never re-encoded here, so what the App
    verifies is what the channel sent.
    """
    decoder = json.JSONDecoder()
    index = _skip_space(text, 0)
    if text[index : index + 1] != "{":
        return None
    index = _skip_space(text, index + 1)
    while index < len(text) and text[index] != "}":
        name, index = decoder.raw_decode(text, index)
        index = _skip_space(text, index)
        if text[index : index + 1] != ":":
            raise ValueError("expected ':' after a member's name")
        start = _skip_space(text, index + 1)
        _, index = decoder.raw_decode(text, start)
        if name == key:
            return text[start:index]
        index = _skip_space(text, index)
        if text[index : index + 1] == ",":
            index = _skip_space(text, index + 1)
    return None


def forward_of(data: str) -> Forward | None:
    """The delivery a channel's `message` event carries; None when it carries no body."""
    try:
        relayed: Any = json.loads(data)
        body = raw_member(data, "body") if isinstance(relayed, dict) else None
    except ValueError:
        return None
    if body is None:
        return None
    headers = {
        name: value
        for name, value in ((k.lower(), v) for k, v in relayed.items())
        if name in FORWARDED_HEADERS and isinstance(value, str)
    }
    # The App accepts JSON only; the body is the JSON the channel relays, whatever it was sent as.
    headers["content-type"] = "application/json"
    return Forward(headers, body.encode("utf-8"))


def local_target(settings: Settings) -> str:
    """This server's own webhook endpoint, as seen from the same machine."""
    host = settings.host
    if host in ("", "0.0.0.0"):  # noqa: S104 - where we listen, mapped to where we connect
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/webhooks"


def next_delay(previous: float, retry_ms: int | None) -> float:
    """Wait before reconnecting: the server's `retry:`, else doubling from 1 s up to 30 s."""
    if retry_ms is not None:
        return min(MAX_RETRY_SECONDS, retry_ms / 1000)
    return min(MAX_RETRY_SECONDS, max(FIRST_RETRY_SECONDS, previous * 2))


class Relay:
    """Read the channel for the App's life, reconnecting, and forward each delivery in order."""

    def __init__(self, state: ProxyState, target: str, http: aiohttp.ClientSession) -> None:
        self.state = state
        self.target = target
        self.http = http

    async def forward(self, delivery: Forward) -> int:
        """POST one delivery to the App and log its answer; return the status."""
        timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_SECONDS)
        fields = {
            "delivery_id": delivery.headers.get("x-github-delivery"),
            "event": delivery.headers.get("x-github-event"),
        }
        async with self.http.post(
            self.target, data=delivery.body, headers=delivery.headers, timeout=timeout
        ) as answer:
            status = answer.status
            try:
                message = (await answer.json(content_type=None)).get("message")
            except (ValueError, AttributeError, aiohttp.ClientError):
                message = None
        if 200 <= status < 300:
            self.state.forwarded += 1
            log.info("proxy.forwarded", extra={**fields, "status": status, "answer": message})
        else:
            self.state.refused += 1
            log.warning("proxy.refused", extra={**fields, "status": status, "answer": message})
        return status

    async def _read(self, parser: sse.Parser) -> None:
        async for event in sse.stream(self.http, self.state.channel, parser):
            if not self.state.connected:
                self.state.connected, self.state.last_error = True, None
                log.info("proxy.connected", extra={"channel": self.state.channel})
            if event.type != "message":
                continue  # `ready` and `ping` only say the channel is alive
            delivery = forward_of(event.data)
            if delivery is None:
                log.warning("proxy.unusable_event", extra={"event_id": event.id})
                continue
            try:
                await self.forward(delivery)
            except (aiohttp.ClientError, TimeoutError) as exc:
                # Our own server did not answer: GitHub's log shows the channel's 200, so
                # say so loudly; the delivery can be redelivered from the App's settings.
                self.state.refused += 1
                log.error(
                    "proxy.forward_failed",
                    extra={
                        "delivery_id": delivery.headers.get("x-github-delivery"),
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )

    async def run(self) -> None:
        """Connect, read until the stream ends, wait, and connect again, until cancelled."""
        parser = sse.Parser(MAX_EVENT_BYTES)
        delay = 0.0
        while True:
            try:
                await self._read(parser)
                error = "the channel closed the stream"
            except (aiohttp.ClientError, TimeoutError, sse.StreamError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if self.state.connected:
                delay = 0.0  # it worked for a while: start backing off afresh
            self.state.connected, self.state.last_error = False, error
            # A fresh parser: a half-received event must not join the next connection's.
            parser = sse.Parser(MAX_EVENT_BYTES) if parser.last_id is None else _resume(parser)
            delay = next_delay(delay, parser.retry_ms)
            log.warning(
                "proxy.disconnected",
                extra={"channel": self.state.channel, "error": error, "retry_in_s": delay},
            )
            await asyncio.sleep(delay)


def _resume(parser: sse.Parser) -> sse.Parser:
    """A parser for the next connection that remembers the last event id and `retry`."""
    fresh = sse.Parser(parser.max_event_bytes)
    fresh.last_id, fresh.retry_ms = parser.last_id, parser.retry_ms
    return fresh


PROXY = web.AppKey("webhook_proxy", ProxyState)


def attach(app: web.Application) -> None:
    """Give the App its proxy state before it starts, when WEBHOOK_PROXY_URL is set."""
    channel = app[RUNTIME].settings.webhook_proxy_url
    if channel is not None:
        app[PROXY] = ProxyState(channel)


async def background(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: relay the channel for the App's life (after its HTTP session exists)."""
    state = app.get(PROXY)
    if state is None:
        yield
        return
    runtime = app[RUNTIME]
    target = local_target(runtime.settings)
    log.info("proxy.start", extra={"channel": state.channel, "target": target})
    task = asyncio.create_task(
        Relay(state, target, runtime.http).run(), name="canon-gate-webhook-proxy"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
