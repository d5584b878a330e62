"""The GitHub client: gidgethub over the App's one aiohttp session, with retries and metrics.

Retries go through stamina (as the ledger's compare-and-swap does); `retry_delay` decides them.

`GitHubApp` holds the App's credentials and the installation-token cache (an optimisation only:
every token can be minted again). `GitHub` is one gidgethub client bound to one token and to the
current delivery's deadline, so retries never outlive GitHub's 10-second window.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import gidgethub.aiohttp
import stamina
from gidgethub import BadRequest, GitHubBroken, HTTPException, RateLimitExceeded

from app.edge import metrics
from app.edge.auth import (
    InstallationToken,
    Permissions,
    TokenKey,
    make_jwt,
    parse_expiry,
    token_key,
)
from app.edge.settings import Settings
from app.ledger.seal import Seal

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
USER_AGENT = "canon-gate"
MAX_ATTEMPTS = 4
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_ID = re.compile(r"/(\d+|[0-9a-f]{40})(?=/|$)")


def route_of(url: str, base_url: str) -> str:
    """Reduce a URL to a low-cardinality route label for metrics and logs."""
    path = url.removeprefix(base_url).split("?", 1)[0]
    path = re.sub(r"^/repos/[^/]+/[^/]+", "/repos/{repo}", path)
    return _ID.sub("/{id}", path)


def retry_delay(
    method: str, exc: HTTPException, attempt: int, *, now: float, rng: random.Random
) -> float | None:
    """Decide whether and after how long to retry a failed call; None means do not retry.

    A rate-limited call was never processed, so it is safe to repeat whatever its method. A 5xx
    may have been processed, so only idempotent methods are repeated; the others are made safe
    by checking GitHub's state first when the delivery is replayed.
    """
    status = int(exc.status_code)
    headers: Mapping[str, str] = exc.headers or {}
    limited = isinstance(exc, RateLimitExceeded) or status == 429
    if isinstance(exc, BadRequest) and status == 403 and "rate limit" in str(exc).lower():
        limited = True
    if limited:
        # https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately
        if "retry-after" in headers:
            return max(0.0, float(headers["retry-after"]))
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            return max(0.0, float(headers["x-ratelimit-reset"]) - now)
        return 60.0 * attempt
    if isinstance(exc, GitHubBroken) and method in _IDEMPOTENT:
        return (0.2 * 2.0 ** (attempt - 1)) * (0.5 + rng.random())
    return None


class GitHub(gidgethub.aiohttp.GitHubAPI):
    """A gidgethub client that sends the API version, retries safely and counts its calls."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        oauth_token: str | None = None,
        deadline: float | None = None,
        installation_id: int | None = None,
    ) -> None:
        super().__init__(session, USER_AGENT, oauth_token=oauth_token, base_url=base_url)
        self.deadline = deadline
        self.installation_id = installation_id
        self._rng = random.Random()  # noqa: S311 - jitter, not security

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = {**headers, "x-github-api-version": API_VERSION}
        route = route_of(url, self.base_url)
        started = time.perf_counter()
        try:
            status, response_headers, data = await super()._request(method, url, headers, body)
        except aiohttp.ClientError:
            metrics.GITHUB_CALLS.labels(method=method, route=route, status="error").inc()
            raise
        metrics.GITHUB_CALLS.labels(method=method, route=route, status=str(status)).inc()
        metrics.GITHUB_LATENCY.labels(method=method).observe(time.perf_counter() - started)
        remaining = response_headers.get("x-ratelimit-remaining")
        if remaining is not None and self.installation_id is not None:
            metrics.RATE_LIMIT_REMAINING.labels(installation=str(self.installation_id)).set(
                float(remaining)
            )
        return status, response_headers, data

    async def _make_request(
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> tuple[bytes, str | None, int]:
        """Make one logical request; stamina retries it when `retry_delay` allows.

        Retries never outlive the delivery's deadline: a wait that would pass it is not taken,
        and the failure is answered 5xx for GitHub's delivery log to replay.
        """
        attempt = 0

        def backoff(exc: Exception) -> float | bool:
            if not isinstance(exc, HTTPException):
                return False
            delay = retry_delay(method, exc, attempt, now=time.time(), rng=self._rng)
            loop_now = asyncio.get_running_loop().time()
            if delay is None or (self.deadline is not None and loop_now + delay > self.deadline):
                return False
            log.info(
                "github.retry",
                extra={
                    "method": method,
                    "route": route_of(url, self.base_url),
                    "status": int(exc.status_code),
                    "attempt": attempt,
                    "delay_s": round(delay, 3),
                },
            )
            return delay

        async for retry in stamina.retry_context(on=backoff, attempts=MAX_ATTEMPTS, timeout=None):
            with retry:
                attempt = retry.num
                result: tuple[bytes, str | None, int] = await super()._make_request(
                    method, url, *args, **kwargs
                )
                return result
        raise AssertionError("unreachable: stamina re-raises the last failure")


class GitHubApp:
    """The App's identity: JWTs, and installation tokens narrowed to one repo and one step."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        if settings.github_app_id is None or settings.github_app_private_key is None:
            raise ValueError("GitHubApp needs GITHUB_APP_ID and a private key")
        self.settings = settings
        self.session = session
        self.app_id = settings.github_app_id
        self._key = settings.github_app_private_key.get_secret_value()
        # Seals the ledger's records, so the App trusts only what it wrote itself.
        self.seal = Seal(settings.ledger_secret or self._key)
        self._tokens: dict[TokenKey, InstallationToken] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}
        self._slug = settings.github_app_slug

    async def slug(self, *, deadline: float | None = None) -> str:
        """The App's slug (its bot is `<slug>[bot]`): from settings, else asked of GitHub once."""
        if self._slug is None:
            data: Any = await self.app_client(deadline=deadline).getitem("/app", jwt=self.jwt())
            self._slug = str(data["slug"])
        return self._slug

    def jwt(self) -> str:
        return make_jwt(self.app_id, self._key)

    def app_client(self, *, deadline: float | None = None) -> GitHub:
        """A client for App-level calls; pass `jwt=app.jwt()` on each call."""
        return GitHub(self.session, base_url=self.settings.github_api_url, deadline=deadline)

    async def installation_client(
        self,
        installation_id: int,
        repository_id: int,
        permissions: Permissions,
        *,
        deadline: float | None = None,
    ) -> GitHub:
        token = await self._token(installation_id, repository_id, permissions, deadline)
        return GitHub(
            self.session,
            base_url=self.settings.github_api_url,
            oauth_token=token,
            deadline=deadline,
            installation_id=installation_id,
        )

    async def _token(
        self,
        installation_id: int,
        repository_id: int,
        permissions: Permissions,
        deadline: float | None,
    ) -> str:
        key = token_key(installation_id, repository_id, permissions)
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._tokens.get(key)
            if cached is not None and cached.fresh(time.time()):
                return cached.token
            # gidgethub's helper posts an empty body and cannot narrow: call the endpoint.
            data: Any = await self.app_client(deadline=deadline).post(
                "/app/installations/{installation_id}/access_tokens",
                url_vars={"installation_id": str(installation_id)},
                data={"repository_ids": [repository_id], "permissions": dict(permissions)},
                jwt=self.jwt(),
            )
            token = InstallationToken(str(data["token"]), parse_expiry(str(data["expires_at"])))
            self._tokens[key] = token
            return token.token

    def forget_installation(self, installation_id: int) -> None:
        """Drop cached tokens of an installation that was removed or suspended."""
        for key in [k for k in self._tokens if k[0] == installation_id]:
            del self._tokens[key]
