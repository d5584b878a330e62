"""The operator's probes: liveness at `/healthz`, readiness at `/readyz`, metrics at `/metrics`.

`/healthz` and `/readyz` are always open and say nothing secret; `/metrics` needs the admin token
only with METRICS_REQUIRE_TOKEN (the guard is `app.setup.admin`, which knows the operator's
pages). `/readyz` asks GitHub which App our JWT signs for, at most once per `READY_TTL_SECONDS`,
so a probe every few seconds costs GitHub little.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.edge import metrics
from app.edge.appinfo import UNAVAILABLE, identify, problem_of
from app.edge.github import GitHubApp
from app.edge.runtime import RUNTIME

log = logging.getLogger(__name__)

READY_TTL_SECONDS = 10.0
# A readiness probe's own timeout is often a few seconds: answer within it.
READY_BUDGET_SECONDS = 4.0


@dataclass
class Readiness:
    """The last answer of GitHub to our credentials, and for which App identity it was."""

    checked_at: float = float("-inf")
    github_app: GitHubApp | None = None
    answer: tuple[int, dict[str, Any]] = (503, {})
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


READINESS = web.AppKey("readiness", Readiness)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: answers without calling GitHub."""
    runtime = request.app[RUNTIME]
    mode = "app" if runtime.github_app is not None else "setup"
    return web.json_response({"status": "ok", "mode": mode})


async def check_github(github_app: GitHubApp) -> tuple[int, dict[str, Any]]:
    """200 when GitHub answers `GET /app` for our JWT; 503 with the reason when it cannot."""
    api_url = github_app.settings.github_api_url
    deadline = asyncio.get_running_loop().time() + READY_BUDGET_SECONDS
    try:
        async with asyncio.timeout(READY_BUDGET_SECONDS):
            identity = await identify(github_app, deadline=deadline)
    except (*UNAVAILABLE, ValueError, TypeError, jwt.PyJWTError) as exc:
        problem = problem_of(exc, api_url)
        return 503, {
            "status": "unready",
            "mode": "app",
            "kind": problem.kind,
            "reason": problem.detail,
        }
    return 200, {"status": "ok", "mode": "app", "app": identity.slug}


async def readyz(request: web.Request) -> web.Response:
    """Readiness: can this App act on a delivery now (GitHub reachable, credentials accepted)?

    In setup mode there is nothing to verify, and the setup page must stay reachable, so it is
    ready for that.
    """
    runtime = request.app[RUNTIME]
    github_app = runtime.github_app
    if github_app is None:
        return web.json_response({"status": "ok", "mode": "setup"})
    readiness = request.app[READINESS]
    async with readiness.lock:
        fresh = time.monotonic() - readiness.checked_at < READY_TTL_SECONDS
        if not fresh or readiness.github_app is not github_app:
            before = readiness.answer[0] if readiness.github_app is github_app else None
            readiness.answer = await check_github(github_app)
            if readiness.answer[0] != before:
                # Only the changes: a probe every few seconds must not flood the log.
                body = readiness.answer[1]
                log.log(
                    logging.INFO if readiness.answer[0] == 200 else logging.WARNING,
                    "probe.ready" if readiness.answer[0] == 200 else "probe.unready",
                    extra={"reason": body.get("reason"), "app": body.get("app")},
                )
            readiness.checked_at = time.monotonic()
            readiness.github_app = github_app
    status, body = readiness.answer
    return web.json_response(body, status=status)


async def metrics_view(request: web.Request) -> web.Response:
    body = generate_latest(metrics.REGISTRY)
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";", 1)[0]
    response.charset = "utf-8"
    return response
