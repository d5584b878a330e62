"""The GitHub client: gidgethub over the App's one aiohttp session, with retries and metrics.

Retries go through stamina (as the ledger's compare-and-swap does); `retry_delay` decides them.
Each call is one of a few per delivery on one core, so the request is built once (its URL from a
compiled template, `urls.py`) and a plain JSON success is read without gidgethub's general
decoder; every other answer, and so every error, is still deciphered by gidgethub.

`GitHubApp` holds the App's credentials and the installation-token cache (an optimisation only:
every token can be minted again). `GitHub` is one gidgethub client bound to one token and to the
current delivery's deadline, so retries never outlive GitHub's 10-second window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import gidgethub.aiohttp
import stamina
from gidgethub import BadRequest, GitHubBroken, HTTPException, RateLimitExceeded, sansio
from gidgethub.abc import JSON_CONTENT_TYPE, JSON_UTF_8_CHARSET

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
from app.edge.urls import format_url, route_of
from app.ledger.seal import Seal

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
USER_AGENT = "canon-gate"
MAX_ATTEMPTS = 4
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_SUCCESS = frozenset({200, 201, 202, 204})


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
        self._rng: random.Random | None = None  # made at the first retry: seeding costs

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = {**headers, "x-github-api-version": API_VERSION}
        route = route_of(url, self.base_url)
        started = time.perf_counter()
        try:
            status, response_headers, data = await super()._request(method, url, headers, body)
        except aiohttp.ClientError:
            metrics.labelled(metrics.GITHUB_CALLS, method, route, "error").inc()
            raise
        metrics.labelled(metrics.GITHUB_CALLS, method, route, str(status)).inc()
        metrics.labelled(metrics.GITHUB_LATENCY, method).observe(time.perf_counter() - started)
        remaining = response_headers.get("x-ratelimit-remaining")
        if remaining is not None and self.installation_id is not None:
            installation = str(self.installation_id)
            metrics.labelled(metrics.RATE_LIMIT_REMAINING, installation).set(float(remaining))
        return status, response_headers, data

    async def _make_request(
        self,
        method: str,
        url: str,
        url_vars: Mapping[str, Any] | None,
        data: Any,
        accept: str,
        jwt: str | None = None,
        oauth_token: str | None = None,
        content_type: str = JSON_CONTENT_TYPE,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[Any, str | None, int]:
        """Make one logical request; stamina retries it when `retry_delay` allows.

        Retries never outlive the delivery's deadline: a wait that would pass it is not taken,
        and the failure is answered 5xx for GitHub's delivery log to replay.
        """
        if oauth_token is not None and jwt is not None:
            raise ValueError("Cannot pass both oauth_token and jwt.")
        filled_url = format_url(url, url_vars, base_url=self.base_url)
        if jwt is not None:
            headers = sansio.create_headers(self.requester, accept=accept, jwt=jwt)
        elif oauth_token is not None:
            headers = sansio.create_headers(self.requester, accept=accept, oauth_token=oauth_token)
        else:
            headers = sansio.create_headers(
                self.requester, accept=accept, oauth_token=self.oauth_token
            )
        if extra_headers is not None:
            headers.update(extra_headers)
        # As gidgethub does: b"" is no body (None is a JSON value), anything else is JSON unless
        # another content type is named.
        if data == b"":
            body = b""
        elif content_type != JSON_CONTENT_TYPE:
            headers["content-type"] = content_type
            body = data
        else:
            body = json.dumps(data).encode()
            headers["content-type"] = JSON_UTF_8_CHARSET
        headers["content-length"] = str(len(body))
        try:
            return await self._attempt(method, filled_url, headers, body)
        except HTTPException as exc:
            failed = exc
        # Only a failed call pays for stamina. Its first attempt is the one that just failed,
        # re-raised inside it, so stamina decides, waits and counts exactly as for any attempt.
        attempt = 0

        def backoff(exc: Exception) -> float | bool:
            if not isinstance(exc, HTTPException):
                return False
            if self._rng is None:
                self._rng = random.Random()  # noqa: S311 - jitter, not security
            delay = retry_delay(method, exc, attempt, now=time.time(), rng=self._rng)
            loop_now = asyncio.get_running_loop().time()
            if delay is None or (self.deadline is not None and loop_now + delay > self.deadline):
                return False
            log.info(
                "github.retry",
                extra={
                    "method": method,
                    "route": route_of(filled_url, self.base_url),
                    "status": int(exc.status_code),
                    "attempt": attempt,
                    "delay_s": round(delay, 3),
                },
            )
            return delay

        async for retry in stamina.retry_context(on=backoff, attempts=MAX_ATTEMPTS, timeout=None):
            with retry:
                attempt = retry.num
                if attempt == 1:
                    raise failed
                return await self._attempt(method, filled_url, headers, body)
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _attempt(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Any, str | None, int]:
        """One HTTP exchange, read as gidgethub reads it (a plain JSON success, directly)."""
        if self.rate_limit is not None:
            self.rate_limit.remaining -= 1
        self.requests_in_flight += 1
        try:
            await self.manage_rate_limit(method=method, url=url)
            status, response_headers, content = await self._request(method, url, headers, body)
        finally:
            self.requests_in_flight -= 1
        if (
            status in _SUCCESS
            and response_headers.get("content-type") == JSON_UTF_8_CHARSET
            and "link" not in response_headers
        ):
            data = json.loads(content.decode()) if content else None
            self.rate_limit = sansio.RateLimit.from_http(response_headers)
            return data, None, status
        data, self.rate_limit, more = sansio.decipher_response(status, response_headers, content)
        return data, more, status


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
