"""App-level routes: the App, its webhook and delivery log, installations, manifest conversions.

`GET /app/installations` and `GET /app/installations/{id}` take the App's JWT;
`GET /installation/repositories` takes an installation token and lists only what it reaches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import deliveries
from .auth import current_token, generate_private_key_pem, require_jwt
from .errors import fake_of, not_found
from .state import App, Installation, user_json

if TYPE_CHECKING:
    from .server import FakeGitHub

routes = web.RouteTableDef()
CODE_TTL = 3600.0  # a manifest code expires within 1 hour
CREATED = "2026-01-01T00:00:00Z"


@routes.get("/app")
async def get_app(request: web.Request) -> web.Response:
    return web.json_response(require_jwt(request).json())


def installation_json(fake: FakeGitHub, installation: Installation) -> dict[str, Any]:
    """An installation as GitHub shows it to its App (every fake installation is an org's)."""
    app = fake.apps[installation.app_id]
    account = user_json(installation.account, "Organization")
    base = fake.public_api_url
    settings = f"https://github.com/organizations/{installation.account}/settings/installations"
    return {
        "id": installation.id,
        "account": account,
        "repository_selection": "all",
        "access_tokens_url": f"{base}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{base}/installation/repositories",
        "html_url": f"{settings}/{installation.id}",
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": account["id"],
        "target_type": "Organization",
        "permissions": dict(app.permissions),
        "events": list(app.events),
        "created_at": CREATED,
        "updated_at": CREATED,
        "single_file_name": None,
        "suspended_at": CREATED if installation.suspended else None,
        "suspended_by": None,
    }


def page_of(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` by `per_page` (at most 100) and `page`, with GitHub's Link header."""
    per_page = min(int(request.query.get("per_page", 30)), 100)
    page = max(int(request.query.get("page", 1)), 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    headers: dict[str, str] = {}
    if page * per_page < len(items):
        url = request.url.with_query({**request.query, "page": str(page + 1)})
        headers["Link"] = f'<{fake_of(request).public_api_url}{url.path_qs}>; rel="next"'
    return chunk, headers


@routes.get("/app/installations")
async def list_installations(request: web.Request) -> web.Response:
    app = require_jwt(request)
    fake = fake_of(request)
    mine = sorted(
        (i for i in fake.installations.values() if i.app_id == app.id), key=lambda i: i.id
    )
    chunk, headers = page_of(request, mine)
    return web.json_response([installation_json(fake, i) for i in chunk], headers=headers)


@routes.get("/app/installations/{installation_id}")
async def get_installation(request: web.Request) -> web.Response:
    app = require_jwt(request)
    fake = fake_of(request)
    installation = fake.installations.get(int(request.match_info["installation_id"]))
    if installation is None or installation.app_id != app.id:
        raise not_found()
    return web.json_response(installation_json(fake, installation))


@routes.get("/installation/repositories")
async def list_repositories(request: web.Request) -> web.Response:
    """The repositories an installation token reaches: narrowed tokens see only theirs."""
    token = current_token(request)
    fake = fake_of(request)
    reached = sorted(
        (
            r
            for r in fake.repos.values()
            if r.installation_id == token.installation_id
            and (token.repository_ids is None or r.id in token.repository_ids)
        ),
        key=lambda r: r.full_name.lower(),
    )
    chunk, headers = page_of(request, reached)
    body = {
        "total_count": len(reached),
        "repository_selection": "all",
        "repositories": [r.json() for r in chunk],
    }
    return web.json_response(body, headers=headers)


@routes.get("/app/hook/config")
async def get_hook_config(request: web.Request) -> web.Response:
    """The App's webhook: where GitHub delivers, and whether a secret is set (never shown)."""
    require_jwt(request)
    fake = fake_of(request)
    config = {
        "content_type": "json",
        "insecure_ssl": "0",
        "url": fake.webhook_url or "",
        "secret": "********" if fake.webhook_secret else None,
    }
    return web.json_response(config)


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
