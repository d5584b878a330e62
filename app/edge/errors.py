"""How a failure is classified at the webhook edge: worth a replay, or not."""

from __future__ import annotations

import asyncio

import aiohttp
from gidgethub import BadRequest, GitHubBroken, HTTPException, RateLimitExceeded

from action.errors import CanonGateError


class TransientError(CanonGateError):
    """Worth replaying: the delivery is answered 5xx so GitHub's delivery log can redeliver it."""


def is_transient(exc: BaseException) -> bool:
    """Decide whether a failure may pass if the delivery is replayed later."""
    if isinstance(exc, TransientError | asyncio.TimeoutError | aiohttp.ClientError):
        return True
    if isinstance(exc, GitHubBroken | RateLimitExceeded):
        return True
    if isinstance(exc, BadRequest):
        # 429, and 403 for a secondary rate limit, are rate limits; other 4xx are our fault
        # or a resource that is gone.
        status = int(exc.status_code)
        # 401: our JWT or token was refused (a clock skew, a rotated key): worth a replay.
        return status in (401, 429) or (status == 403 and "rate limit" in str(exc).lower())
    if isinstance(exc, HTTPException):
        return int(exc.status_code) >= 500
    return False
