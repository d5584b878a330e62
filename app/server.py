"""The composition root: `create_app` wires the edge, the flows and the setup pages together."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from gidgethub.routing import Router

from app.edge import outcome, proxy
from app.edge.probes import READINESS, Readiness, healthz, metrics_view, readyz
from app.edge.runtime import RUNTIME, Runtime
from app.edge.settings import Settings
from app.edge.webhooks import MAX_PAYLOAD_BYTES, handle_delivery
from app.flows import (
    canon_change,
    commands,
    complete,
    installations,
    merge_queue,
    recovery,
    start,
)
from app.setup.routes import add_setup_routes


def build_router() -> Router:
    """One router per behaviour; the App only combines them."""
    return Router(
        start.router,
        complete.router,
        commands.router,
        installations.router,
        merge_queue.router,
        canon_change.router,
    )


def create_app(settings: Settings) -> web.Application:
    """Build the App; nothing touches the network until it starts."""
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    app[RUNTIME] = Runtime(settings=settings, router=build_router())
    app[READINESS] = Readiness()
    recovery.attach(app)
    proxy.attach(app)
    # The answer to each delivery says what its handlers did (app.edge.outcome).
    outcome.install()
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(recovery.background)
    app.cleanup_ctx.append(proxy.background)
    app.router.add_post("/webhooks", handle_delivery)
    app.router.add_post("/", handle_delivery)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    add_setup_routes(app)
    return app


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    """One ClientSession for the App's life, shared by every installation.

    It keeps no cookies: GitHub's API needs none, and a cookie one tenant's answer set (a load
    balancer's, blob storage's) must not ride along on another tenant's request.
    """
    timeout = aiohttp.ClientTimeout(total=30, connect=5)
    async with aiohttp.ClientSession(
        timeout=timeout,
        raise_for_status=False,
        middlewares=(outcome.count_requests,),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as http:
        app[RUNTIME].start(http)
        yield
