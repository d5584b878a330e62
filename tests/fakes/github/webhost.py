"""GitHub's web host, for the App Manifest flow: the confirm page and the redirect with a code."""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .errors import fake_of
from .state import LEVELS

routes = web.RouteTableDef()
CODE_TTL = 3600.0


@dataclass
class PendingManifest:
    key: str
    manifest: dict[str, Any]
    state: str
    owner: str
    org: bool


@dataclass
class ManifestCode:
    code: str
    manifest: dict[str, Any]
    owner: str
    org: bool
    expires_at: float
    app_id: int | None = None


def manifest_errors(manifest: Any) -> list[str]:
    """Validate what GitHub checks before showing the confirm page."""
    if not isinstance(manifest, dict):
        return ["manifest must be a JSON object"]
    errors = []
    for key in ("name", "url"):
        if not isinstance(manifest.get(key), str) or not manifest[key]:
            errors.append(f"{key} is required")
    hook = manifest.get("hook_attributes")
    if hook is not None and (
        not isinstance(hook, dict) or (hook.get("active", True) and not hook.get("url"))
    ):
        errors.append("hook_attributes.url is required when the webhook is active")
    if "redirect_url" in manifest and not str(manifest["redirect_url"]).startswith("http"):
        errors.append("redirect_url must be an http(s) URL")
    permissions = manifest.get("default_permissions", {})
    if not isinstance(permissions, dict) or any(
        v not in LEVELS or not isinstance(k, str) for k, v in permissions.items()
    ):
        errors.append("default_permissions must map permission names to read|write|admin")
    events = manifest.get("default_events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        errors.append("default_events must be a list of event names")
    return errors


async def start(request: web.Request, owner: str, org: bool) -> web.Response:
    fake = fake_of(request)
    form = await request.post()
    try:
        manifest = json.loads(str(form.get("manifest", "")))
    except ValueError:
        manifest = None
    errors = manifest_errors(manifest)
    if errors:
        items = "".join(f"<li>{html.escape(e)}</li>" for e in errors)
        page = f"<html><body><h1>Invalid GitHub App manifest</h1><ul>{items}</ul></body></html>"
        return web.Response(status=422, text=page, content_type="text/html")
    key = secrets.token_urlsafe(12)
    fake.manifests[key] = PendingManifest(key, manifest, request.query.get("state", ""), owner, org)
    name = html.escape(manifest["name"])
    page = (
        "<html><head><title>Create GitHub App</title></head><body>"
        f"<h1>Create GitHub App for {html.escape(owner)}</h1><p id='app-name'>{name}</p>"
        f"<form method='post' action='{fake.web_url}/_confirm/{key}'>"
        "<button type='submit' id='create'>Create GitHub App</button></form></body></html>"
    )
    return web.Response(text=page, content_type="text/html")


@routes.post("/_web/settings/apps/new")
async def new_for_user(request: web.Request) -> web.Response:
    return await start(request, "octocat", org=False)


@routes.post("/_web/organizations/{org}/settings/apps/new")
async def new_for_org(request: web.Request) -> web.Response:
    return await start(request, request.match_info["org"], org=True)


@routes.post("/_web/_confirm/{key}")
async def confirm(request: web.Request) -> web.Response:
    fake = fake_of(request)
    pending = fake.manifests.pop(request.match_info["key"], None)
    if pending is None:
        return web.Response(status=404, text="Not Found")
    code = secrets.token_hex(10)
    fake.codes[code] = ManifestCode(
        code, pending.manifest, pending.owner, pending.org, fake.clock.now() + CODE_TTL
    )
    redirect = pending.manifest.get("redirect_url") or pending.manifest["url"]
    sep = "&" if "?" in redirect else "?"
    location = f"{redirect}{sep}{urlencode({'code': code, 'state': pending.state})}"
    return web.Response(status=302, headers={"Location": location})
