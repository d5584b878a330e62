"""Fault injection: one-off answers for matching calls, and a seeded share of failures."""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

Matcher = str | Callable[[web.Request], bool]


@dataclass
class Fault:
    matcher: Matcher
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    body: str | None = None

    def matches(self, request: web.Request, route: str | None) -> bool:
        if callable(self.matcher):
            return self.matcher(request)
        method, _, pattern = self.matcher.partition(" ")
        if not pattern:
            method, pattern = "", self.matcher
        if method and method.upper() != request.method:
            return False
        return pattern == route or fnmatch.fnmatchcase(request.path, pattern)


@dataclass
class Chaos:
    share: float
    statuses: tuple[int, ...]
    retry_after: int
    rng: random.Random


class Faults:
    """The faults a test has armed, consulted before each API call is handled."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self.chaos: Chaos | None = None

    def pick(self, request: web.Request, route: str | None) -> web.Response | None:
        for fault in self.pending:
            if fault.times != 0 and fault.matches(request, route):
                fault.times -= 1
                return answer(fault.status, fault.headers, fault.body)
        chaos = self.chaos
        if chaos is not None and chaos.rng.random() < chaos.share:
            status = chaos.rng.choice(chaos.statuses)
            headers = {"retry-after": str(chaos.retry_after)} if status in (403, 429) else {}
            return answer(status, headers, None)
        return None


MESSAGES = {
    403: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",  # noqa: E501
    429: "You have exceeded a secondary rate limit.",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
}


def answer(status: int, headers: dict[str, str], body: str | None) -> web.Response:
    if body is not None:
        return web.Response(status=status, text=body, headers=headers)
    message = MESSAGES.get(status, "Injected fault")
    return web.json_response(
        {"message": message, "documentation_url": "https://docs.github.com/rest"},
        status=status,
        headers=headers,
    )
