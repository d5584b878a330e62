"""The operator's probes: liveness at `/healthz` and Prometheus metrics at `/metrics`.

`/healthz` is always open; `/metrics` needs the admin token only with METRICS_REQUIRE_TOKEN
(the guard is `app.setup.admin`, which knows the operator's pages).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.edge import metrics
from app.edge.runtime import RUNTIME


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
