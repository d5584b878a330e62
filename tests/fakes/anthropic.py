"""A fake Anthropic Messages API: streaming SSE, scripted turns, every request recorded.

The real bundled `claude` CLI is pointed at it with `ANTHROPIC_BASE_URL`. A script is a list of
`Turn`s; each `POST /v1/messages` consumes the next one. A turn is text and/or tool calls, or an
HTTP error (sticky: retries get the same error), or a hang. When the script runs out the fake
answers a plain "done." text turn, which is what a model that never emits a result looks like.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ToolCall:
    name: str
    input: dict[str, Any]


@dataclass
class Turn:
    text: str | None = None
    thinking: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    # An HTTP error status answered instead of a message (sticky: every later request gets it).
    status: int | None = None
    # Hold the request open without answering (sticky too).
    hang: bool = False
    input_tokens: int = 100
    output_tokens: int = 20


def structured(payload: dict[str, Any]) -> Turn:
    """A turn that emits the gate's structured result through the CLI's StructuredOutput tool."""
    return Turn(tool_calls=[ToolCall("StructuredOutput", payload)])


@dataclass
class Recorded:
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str

    @property
    def tool_names(self) -> list[str]:
        return [t["name"] for t in self.body.get("tools", [])]

    def tool_results(self) -> list[dict[str, Any]]:
        """Every tool_result block in the last user message."""
        messages = self.body.get("messages", [])
        if not messages or not isinstance(messages[-1].get("content"), list):
            return []
        return [b for b in messages[-1]["content"] if b.get("type") == "tool_result"]


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _event_stream_chunk(event: dict[str, Any]) -> bytes:
    """One AWS event-stream message (application/vnd.amazon.eventstream) carrying a `chunk`
    event whose payload is {"bytes": base64 of one Messages stream event}: a big-endian prelude
    (total and headers length, and their CRC32), string headers, the payload, the CRC32 of all."""
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()})
    headers = b""
    for name, value in (
        (":event-type", "chunk"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        raw = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    body = payload.encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


class FakeAnthropic:
    """One scripted model endpoint; start it with `async with`."""

    def __init__(self, script: list[Turn] | None = None) -> None:
        self.script: list[Turn] = list(script or [])
        self.requests: list[Recorded] = []
        self._position = 0
        self._ids = 0
        self._runner: web.AppRunner | None = None
        self.port = 0
        # Called on every request, while the CLI that sent it is alive (tests inspect it).
        self.on_request: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def message_requests(self) -> list[Recorded]:
        ends = ("/v1/messages", "Predict", "/invoke", "/invoke-with-response-stream")
        return [r for r in self.requests if r.path.endswith(ends)]

    async def __aenter__(self) -> FakeAnthropic:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        # Google Vertex AI's endpoint for Claude takes the same Messages body and stream; the
        # model is in the path (`.../models/{model}:streamRawPredict`, or `:rawPredict`).
        app.router.add_post("/{path:.+/publishers/anthropic/models/.+Predict}", self._messages)
        # Amazon Bedrock's runtime: the same body, answered whole (`invoke`) or as an AWS event
        # stream whose chunks carry the Messages stream's events (`invoke-with-response-stream`).
        app.router.add_post("/model/{model}/invoke", self._bedrock)
        app.router.add_post("/model/{model}/invoke-with-response-stream", self._bedrock)
        app.router.add_route("*", "/{tail:.*}", self._other)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _next_turn(self) -> Turn:
        if self._position >= len(self.script):
            return Turn(text="done.")
        turn = self.script[self._position]
        if turn.status is None and not turn.hang:
            self._position += 1
        return turn

    async def _record(self, request: web.Request) -> Recorded:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {}
        rec = Recorded(request.path, request.query_string, dict(request.headers), body, raw)
        self.requests.append(rec)
        if self.on_request is not None:
            self.on_request()
        return rec

    async def _other(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"error": "not found"}, status=404)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        turn = self._next_turn()
        if turn.hang:
            await asyncio.sleep(3600)
        if turn.status is not None:
            kind = {401: "authentication_error", 429: "rate_limit_error"}.get(
                turn.status, "api_error"
            )
            headers = {"retry-after": "0"} if turn.status == 429 else {}
            return web.json_response(
                {"type": "error", "error": {"type": kind, "message": f"fake {turn.status}"}},
                status=turn.status,
                headers=headers,
            )
        blocks = self._blocks(turn)
        stop = "tool_use" if turn.tool_calls else "end_turn"
        message = {
            "id": f"msg_fake_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": rec.body.get("model", "claude-fake"),
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens},
        }
        if not rec.body.get("stream"):
            return web.json_response(message)
        return await self._stream(request, message, blocks)

    async def _bedrock(self, request: web.Request) -> web.StreamResponse:
        """Bedrock's invoke APIs: the Messages answer, streamed as AWS event-stream chunks."""
        await self._record(request)
        turn = self._next_turn()
        if turn.hang:
            await asyncio.sleep(3600)
        if turn.status is not None:
            return web.json_response({"message": f"fake {turn.status}"}, status=turn.status)
        blocks = self._blocks(turn)
        message = {
            "id": f"msg_fake_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": request.match_info["model"],
            "content": blocks,
            "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens},
        }
        if not request.path.endswith("-stream"):
            return web.json_response(message)
        resp = web.StreamResponse(headers={"content-type": "application/vnd.amazon.eventstream"})
        await resp.prepare(request)
        for event in self._events(message, blocks):
            await resp.write(_event_stream_chunk(event))
        await resp.write_eof()
        return resp

    def _events(
        self, message: dict[str, Any], blocks: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The Messages stream's events, as objects (the SSE and Bedrock encodings share them)."""
        start = dict(message, content=[], stop_reason=None)
        start["usage"] = dict(message["usage"], output_tokens=1)
        events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
        for index, block in enumerate(blocks):
            for raw in self._block_events(index, block):
                events.append(json.loads(raw.decode().split("data: ", 1)[1]))
        delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        usage = {"output_tokens": message["usage"]["output_tokens"]}
        events.append({"type": "message_delta", "delta": delta, "usage": usage})
        events.append({"type": "message_stop"})
        return events

    def _blocks(self, turn: Turn) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if turn.thinking:
            blocks.append({"type": "thinking", "thinking": turn.thinking, "signature": "fake"})
        if turn.text:
            blocks.append({"type": "text", "text": turn.text})
        for call in turn.tool_calls:
            self._ids += 1
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{self._ids:04d}",
                    "name": call.name,
                    "input": call.input,
                }
            )
        return blocks

    async def _stream(
        self, request: web.Request, message: dict[str, Any], blocks: list[dict[str, Any]]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        start = dict(message, content=[], stop_reason=None)
        start["usage"] = dict(message["usage"], output_tokens=1)
        await resp.write(_sse("message_start", {"type": "message_start", "message": start}))
        for index, block in enumerate(blocks):
            await resp.write(b"".join(self._block_events(index, block)))
        usage = {"output_tokens": message["usage"]["output_tokens"]}
        delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        await resp.write(
            _sse("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
        )
        await resp.write(_sse("message_stop", {"type": "message_stop"}))
        await resp.write_eof()
        return resp

    @staticmethod
    def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
        kind = block["type"]
        if kind == "text":
            empty: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block["text"]}]
        elif kind == "thinking":
            empty = {"type": "thinking", "thinking": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
        else:
            empty = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            text = json.dumps(block["input"])
            half = len(text) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": part}
                for part in (text[:half], text[half:])
            ]
        events = [
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": empty},
            )
        ]
        events += [
            _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
            for d in deltas
        ]
        events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        return events
