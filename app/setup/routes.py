"""The first-run pages: register the GitHub App from manifest.yml, then show the App's status.

In setup mode (no credentials) `/` and `/setup` run GitHub's App Manifest flow; the callback stores
the credentials in the operator's .env and switches the running server into App mode. In App mode
the same pages show which App this is and where to install it, never a secret. Every page but the
callback needs the admin token (admin.py); the callback is guarded by its signed state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import web
from pydantic import ValidationError

from app.edge.github import API_VERSION, USER_AGENT
from app.edge.runtime import RUNTIME
from app.setup import admin, envfile, pages
from app.setup.manifest import (
    ACCOUNT_NAME,
    MANIFEST_CODE,
    Conversion,
    StateSigner,
    build_manifest,
    configured_settings,
    env_values,
    install_url,
    registration_url,
)

log = logging.getLogger(__name__)

STATES = web.AppKey("setup_states", StateSigner)


def add_setup_routes(app: web.Application) -> None:
    # A fresh secret per process: states are checked, not stored (the App is stateless).
    app[STATES] = StateSigner()
    # The operator's pages (and /metrics when asked) need the admin token; see admin.py.
    app.middlewares.append(admin.guard)
    app.router.add_get("/", index)
    app.router.add_get("/setup", index)
    app.router.add_post("/setup/register", register)
    app.router.add_get("/setup/callback", callback)
    app.router.add_get("/login", admin.login_form)
    app.router.add_post("/login", admin.login)


def _html(text: str, status: int = 200) -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html")
    response.headers.update(pages.HEADERS)
    return response


def _public_url(request: web.Request) -> tuple[str, str | None]:
    """The App's public URL, and a warning when it was guessed from this request."""
    configured = request.app[RUNTIME].settings.public_url
    if configured:
        return configured, None
    url = f"{request.scheme}://{request.host}"
    warning = (
        f"PUBLIC_URL is not set, so the App will ask GitHub to send webhooks to {url}, the "
        "address this page was opened at. GitHub must be able to reach it: set PUBLIC_URL to "
        "this server's public address (or a tunnel to it) and restart before registering."
    )
    return url, warning


def _status(request: web.Request) -> web.Response:
    settings = request.app[RUNTIME].settings
    slug = settings.github_app_slug
    link = install_url(settings.github_web_url, slug) if slug else None
    return _html(pages.status_page(settings.github_app_id, slug, link))


async def index(request: web.Request) -> web.Response:
    """Setup mode: the registration page. App mode: the status page."""
    if request.app[RUNTIME].github_app is not None:
        return _status(request)
    public_url, warning = _public_url(request)
    manifest = build_manifest(public_url)
    page = pages.setup_page(
        json.dumps(manifest, separators=(",", ":")),
        manifest.get("default_permissions", {}),
        manifest.get("default_events", []),
        public_url,
        warning,
    )
    return _html(page)


async def register(request: web.Request) -> web.StreamResponse:
    """Send the browser, with the manifest form, on to GitHub's "create App" page.

    A 307 keeps the method and the form body, so the browser POSTs the manifest to GitHub itself;
    the state is made here, per attempt, and checked on the way back.
    """
    if request.app[RUNTIME].github_app is not None:
        raise web.HTTPSeeOther("/")
    form = await request.post()
    organization = str(form.get("organization", "")).strip()
    if organization and not ACCOUNT_NAME.match(organization):
        message = f"{organization!r} is not a GitHub organisation name."
        return _html(pages.error_page("Check the organisation", message), status=400)
    if not form.get("manifest"):
        return _html(pages.error_page("Start again", "The form arrived without its manifest."), 400)
    web_url = request.app[RUNTIME].settings.github_web_url
    state = request.app[STATES].issue(time.time())
    target = registration_url(web_url, organization or None, state)
    log.info("setup.register", extra={"organization": organization or None})
    raise web.HTTPTemporaryRedirect(target)


async def callback(request: web.Request) -> web.Response:
    """Check the state, exchange the code, store the credentials and switch into App mode."""
    runtime = request.app[RUNTIME]
    if runtime.github_app is not None:
        # Registered already: the status page is the operator's, behind the token.
        raise web.HTTPSeeOther("/")
    code, state = request.query.get("code", ""), request.query.get("state", "")
    refused = request.app[STATES].check(state, time.time()) if state else "the state is missing"
    if refused is not None:
        log.warning("setup.bad_state", extra={"reason": refused})
        return _html(pages.error_page("This link cannot be used", f"Refused: {refused}."), 400)
    if not MANIFEST_CODE.match(code):
        return _html(pages.error_page("This link cannot be used", "GitHub sent no code."), 400)

    settings = runtime.settings
    url = f"{settings.github_api_url.rstrip('/')}/app-manifests/{code}/conversions"
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
    }
    try:
        async with runtime.http.post(url, headers=headers) as answer:
            status, body = answer.status, await answer.read()
    except (TimeoutError, OSError) as exc:
        log.warning("setup.exchange_failed", extra={"error": type(exc).__name__})
        return _html(pages.error_page("GitHub did not answer", "Try again in a moment."), 502)
    if status != 201:
        log.warning("setup.exchange_refused", extra={"status": status})
        message = (
            f"GitHub answered {status} when this server redeemed the registration code. "
            "A code works once and expires after an hour."
        )
        return _html(pages.error_page("Registration did not complete", message), 502)
    try:
        conversion = Conversion.model_validate_json(body)
    except ValidationError:
        log.warning("setup.exchange_unusable", extra={"status": status})
        message = "GitHub's answer did not carry the App's credentials."
        return _html(pages.error_page("Registration did not complete", message), 502)

    try:
        await asyncio.to_thread(envfile.write, settings.env_file, env_values(conversion))
    except (OSError, ValueError) as exc:
        log.error(
            "setup.store_failed",
            extra={"env_file": str(settings.env_file), "error": type(exc).__name__},
        )
        message = (
            f"The App {conversion.slug} was created, but its credentials could not be written "
            f"to {settings.env_file} ({type(exc).__name__}). Delete the App in GitHub's "
            "settings, fix the file's permissions, and register again."
        )
        return _html(pages.error_page("Could not save the credentials", message), 500)
    runtime.configure(configured_settings(settings, conversion))
    log.info(
        "setup.registered",
        extra={
            "app_id": conversion.id,
            "slug": conversion.slug,
            "env_file": str(settings.env_file),
        },
    )
    link = install_url(settings.github_web_url, conversion.slug)
    page = pages.registered_page(conversion.id, conversion.slug, link, str(settings.env_file))
    return _html(page)
