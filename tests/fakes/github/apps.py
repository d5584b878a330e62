"""App-level routes: the authenticated App, its webhook delivery log, manifest conversions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import deliveries
from .auth import generate_private_key_pem, require_jwt
from .errors import fake_of, not_found
from .state import App, user_json

routes = web.RouteTableDef()
CODE_TTL = 3600.0  # a manifest code expires within 1 hour


@routes.get("/app")
async def get_app(request: web.Request) -> web.Response:
    return web.json_response(require_jwt(request).json())


@routes.get("/app/hook/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    require_jwt(request)
    fake = fake_of(request)
    found = list(reversed(fake.deliveries))  # newest first, as GitHub lists them
    status = request.query.get("status")
    if status == "success":
        found = [d for d in found if d.status == "OK"]
    elif status == "failure":
        found = [d for d in found if d.status != "OK"]
    per_page = min(int(request.query.get("per_page", 30)), 100)
    cursor = request.query.get("cursor")
    start = 0
    if cursor:
        start = next((i for i, d in enumerate(found) if f"v1_{d.id}" == cursor), len(found))
    chunk = found[start : start + per_page]
    headers: dict[str, str] = {}
    if start + per_page < len(found):
        nxt = found[start + per_page]
        query = {k: v for k, v in request.query.items() if k != "cursor"}
        query["cursor"] = f"v1_{nxt.id}"
        url = request.url.with_query(query)
        link = f"{fake.public_api_url}{url.path_qs}"
        headers["Link"] = f'<{link}>; rel="next"'
    return web.json_response([d.summary() for d in chunk], headers=headers)


def find(request: web.Request) -> deliveries.Delivery:
    wanted = int(request.match_info["delivery_id"])
    delivery = next((d for d in fake_of(request).deliveries if d.id == wanted), None)
    if delivery is None:
        raise not_found()
    return delivery


@routes.get("/app/hook/deliveries/{delivery_id}")
async def get_delivery(request: web.Request) -> web.Response:
    require_jwt(request)
    return web.json_response(find(request).detail())


@routes.post("/app/hook/deliveries/{delivery_id}/attempts")
async def redeliver(request: web.Request) -> web.Response:
    require_jwt(request)
    delivery = find(request)
    await deliveries.send(
        fake_of(request), delivery.event, delivery.payload, guid=delivery.guid, redelivery=True
    )
    return web.json_response({}, status=202)


@routes.post("/app-manifests/{code}/conversions")
async def convert(request: web.Request) -> web.Response:
    fake = fake_of(request)
    pending = fake.codes.pop(request.match_info["code"], None)  # single use
    if pending is None or pending.expires_at <= fake.clock.now():
        raise not_found()
    manifest = pending.manifest
    pem = generate_private_key_pem()
    app_id = max(fake.apps) + 1
    slug = str(manifest["name"]).lower().replace(" ", "-")
    permissions = {"metadata": "read", **dict(manifest.get("default_permissions") or {})}
    app: App = fake.add_app(
        app_id,
        pem,
        slug=slug,
        owner=pending.owner,
        permissions=permissions,
        events=list(manifest.get("default_events") or []),
        client_id=f"Iv23li{app_id:014d}",
    )
    app.name = str(manifest["name"])
    answer: dict[str, Any] = {
        **app.json(),
        "owner": user_json(pending.owner, "Organization" if pending.org else "User"),
        "client_secret": f"secret_{app_id}",
        "webhook_secret": f"whsec_{app_id}_{pending.code[:8]}",
        "pem": pem,
    }
    pending.app_id = app_id
    return web.json_response(answer, status=201)
