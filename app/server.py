"""The App factory: routes, one ClientSession for the App's life, and background tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from gidgethub.routing import Router
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app import audit, commands, completion, installations, recovery
from app.edge import metrics
from app.edge.runtime import RUNTIME, Runtime
from app.edge.settings import Settings
from app.edge.webhooks import MAX_PAYLOAD_BYTES, receive
from app.setup import routes as setup_routes

SETTINGS = web.AppKey("settings", Settings)


def build_router() -> Router:
    """One router per behaviour; the App only combines them."""
    return Router(audit.router, completion.router, commands.router, installations.router)


def create_app(settings: Settings) -> web.Application:
    """Build the App; nothing touches the network until it starts."""
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    app[SETTINGS] = settings
    app[RUNTIME] = Runtime(settings=settings, router=build_router())
    recovery.attach(app)
    app.cleanup_ctx.append(_runtime)
    app.cleanup_ctx.append(recovery.background)
    app.router.add_post("/webhooks", receive)
    app.router.add_post("/", receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    setup_routes.add_routes(app)
    return app


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=30, connect=5)
    async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as http:
        app[RUNTIME].start(http)
        yield


async def healthz(request: web.Request) -> web.Response:
    """Liveness: answers without calling GitHub."""
    runtime = request.app[RUNTIME]
    mode = "app" if runtime.github_app is not None else "setup"
    return web.json_response({"status": "ok", "mode": mode})


async def metrics_view(request: web.Request) -> web.Response:
    body = generate_latest(metrics.REGISTRY)
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";", 1)[0]
    response.charset = "utf-8"
    return response
