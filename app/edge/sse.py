"""Server-sent events, read: the `text/event-stream` format, and one stream over aiohttp.

The parser follows the HTML standard's interpretation rules and does no I/O; `stream` connects
once and yields events until the server closes or goes quiet. Reconnecting is the caller's job.
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

# The longest silence tolerated before the connection is taken for dead. smee.io sends a `ping`
# event every 30 s; a stream that says nothing for three of those is gone.
READ_TIMEOUT_SECONDS = 90.0


class StreamError(Exception):
    """The stream could not be opened, or sent something that is not an event stream."""


@dataclass(frozen=True)
class Event:
    type: str
    data: str
    id: str | None = None


# A line ends at CRLF, LF or CR.
_EOL = re.compile(rb"\r\n|\r|\n")


class Parser:
    """Turn chunks of an event stream into events; keeps what it needs across chunks."""

    def __init__(self, max_event_bytes: int) -> None:
        self.max_event_bytes = max_event_bytes
        self.last_id: str | None = None
        self.retry_ms: int | None = None
        self._buffer = bytearray()
        self._scan = 0  # where the next search for a line end starts
        self._data: list[str] = []
        self._size = 0
        self._type = ""

    def feed(self, chunk: bytes) -> list[Event]:
        """Consume a chunk; return the events it completed."""
        buffer = self._buffer
        buffer += chunk
        events: list[Event] = []
        start, position = 0, self._scan
        while (end := _EOL.search(buffer, position)) is not None:
            if end.group() == b"\r" and end.end() == len(buffer):
                break  # perhaps the first half of a CRLF: wait for the next chunk
            event = self._line(bytes(buffer[start : end.start()]))
            start = position = end.end()
            if event is not None:
                events.append(event)
        del buffer[:start]
        # Search only what is new next time: a 25 MB line arrives in many chunks.
        self._scan = len(buffer) - 1 if buffer.endswith(b"\r") else len(buffer)
        if len(buffer) > self.max_event_bytes:
            raise StreamError(f"a line is longer than {self.max_event_bytes} bytes")
        return events

    def _line(self, raw: bytes) -> Event | None:
        line = raw.decode("utf-8", "replace")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: servers send them to keep the connection open
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._size += len(value) + 1
            if self._size > self.max_event_bytes:
                raise StreamError(f"an event is larger than {self.max_event_bytes} bytes")
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, kind = self._data, self._type or "message"
        self._data, self._size, self._type = [], 0, ""
        if not data:
            return None
        return Event(kind, "\n".join(data), self.last_id)


async def stream(http: aiohttp.ClientSession, url: str, parser: Parser) -> AsyncIterator[Event]:
    """Open the stream at `url` and yield its events until it ends."""
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
    if parser.last_id:
        headers["Last-Event-ID"] = parser.last_id
    # No total timeout: the stream is meant to stay open. A silent one is dead, though.
    timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=READ_TIMEOUT_SECONDS)
    async with http.get(url, headers=headers, timeout=timeout) as answer:
        if answer.status != 200:
            raise StreamError(f"the channel answered {answer.status}")
        if answer.content_type != "text/event-stream":
            raise StreamError(f"the channel sent {answer.content_type}, not an event stream")
        async for chunk in answer.content.iter_any():
            for event in parser.feed(chunk):
                yield event
