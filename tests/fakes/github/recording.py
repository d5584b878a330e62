"""What the fake records about each call, and the rate-limit headers it answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .auth import Auth


@dataclass
class Call:
    """One request the fake answered."""

    method: str
    path: str
    route: str | None
    query: dict[str, str]
    json: Any = None
    status: int = 0
    auth: str = "none"
    permissions: dict[str, str] | None = None
    repository_ids: list[int] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    injected: bool = False


@dataclass
class Violation:
    call: Call
    errors: list[str]


def rate_headers(
    counts: dict[str, int], now: float, parsed: Auth, response: web.StreamResponse
) -> None:
    """Add the x-ratelimit-* headers GitHub puts on every answer."""
    key = parsed.credential or "anonymous"
    used = counts[key] = counts.get(key, 0) + 1
    limit = 5000 if parsed.kind != "none" else 60
    reset = int(now // 3600 + 1) * 3600
    response.headers["x-ratelimit-limit"] = str(limit)
    response.headers["x-ratelimit-remaining"] = str(max(limit - used, 0))
    response.headers["x-ratelimit-reset"] = str(reset)
    response.headers["x-ratelimit-used"] = str(used)
    response.headers["x-ratelimit-resource"] = "core"
