"""The first-run pages: register the GitHub App from manifest.yml, then show the App's status.

In setup mode (no credentials) `/` and `/setup` run GitHub's App Manifest flow; the callback stores
the credentials in the operator's .env and switches the running server into App mode. In App mode
the same pages show the status: what GitHub says about the App, its installations and deliveries,
never a secret. Every page but the
callback needs the admin token (admin.py); the callback is guarded by its signed state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import web
from pydantic import ValidationError

from app.edge.appinfo import gather_status
from app.edge.github import API_VERSION, USER_AGENT
from app.edge.proxy import PROXY
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
from app.setup.reach import Advice, advise
from app.setup.status import StatusView, now_utc, status_page

log = logging.getLogger(__name__)

STATES = web.AppKey("setup_states", StateSigner)
# The status page reads GitHub before it answers; a person waits for it, so briefly.
STATUS_BUDGET_SECONDS = 6.0


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


def _advice(request: web.Request) -> Advice:
    """Where the manifest sends webhooks, and whether GitHub would accept that address."""
    settings = request.app[RUNTIME].settings
    opened_at = f"{request.scheme}://{request.host}"
    return advise(
        settings.public_url, opened_at, settings.webhook_proxy_url, settings.github_web_url
    )


async def _status(request: web.Request) -> web.Response:
    """App mode: verify the credentials with GitHub and show what it says about the App."""
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    github_app = runtime.github_app
    assert github_app is not None
    github = await gather_status(github_app, budget=STATUS_BUDGET_SECONDS)
    slug = settings.github_app_slug or (github.identity.slug if github.identity else None)
    link = install_url(settings.github_web_url, slug) if slug else None
    expected = settings.webhook_proxy_url or (
        f"{settings.public_url.rstrip('/')}/webhooks" if settings.public_url else None
    )
    interval = settings.redeliver_interval_seconds
    view = StatusView(
        app_id=settings.github_app_id,
        slug=slug,
        web_url=settings.github_web_url,
        install_link=link,
        expected_hook=expected,
        redeliver_minutes=max(1, round(interval / 60)) if interval > 0 else None,
        github=github,
        proxy=request.app.get(PROXY),
        now=now_utc(),
    )
    return _html(status_page(view))


async def index(request: web.Request) -> web.Response:
    """Setup mode: the registration page. App mode: the status page."""
    if request.app[RUNTIME].github_app is not None:
        return await _status(request)
    advice = _advice(request)
    manifest = build_manifest(advice.base_url, hook_url=advice.hook_url)
    page = pages.setup_page(
        json.dumps(manifest, separators=(",", ":")),
        manifest.get("default_permissions", {}),
        manifest.get("default_events", []),
        advice,
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
        happened = f"{organization!r} is not a GitHub organisation name."
        todo = (
            "Type the organisation's name as it appears in its GitHub address (letters, "
            "digits and single hyphens), or leave the field blank for your own account."
        )
        return _html(pages.error_page("Check the organisation", happened, todo), status=400)
    if not form.get("manifest"):
        happened = "The registration form arrived without the App's description (its manifest)."
        todo = "Reload the setup page and press Register again."
        return _html(pages.error_page("Start again", happened, todo), 400)
    advice = _advice(request)
    if advice.blocked:
        happened = (
            f"GitHub would refuse to register the App: its webhook address, {advice.hook_url}, "
            f"is not on the public internet ({advice.not_public})."
        )
        todo = "Set PUBLIC_URL, or WEBHOOK_PROXY_URL for development, and restart; the setup "
        todo += "page explains both."
        return _html(pages.error_page("GitHub cannot reach this server", happened, todo), 400)
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
    refused = request.app[STATES].check(state, time.time()) if state else "missing"
    if refused is not None:
        log.warning("setup.bad_state", extra={"reason": refused})
        happened, todo = pages.CALLBACK_REFUSALS[refused]
        return _html(pages.error_page("Registration was not finished", happened, todo), 400)
    if not MANIFEST_CODE.match(code):
        happened = "GitHub sent this server back without the registration code it needs."
        todo = "Open the setup page and press Register again."
        return _html(pages.error_page("Registration was not finished", happened, todo), 400)

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
        happened = (
            "GitHub created the App, but did not answer when this server asked for its "
            f"credentials ({type(exc).__name__})."
        )
        todo = "Reload this page within the hour to try again; the code stays valid until used."
        return _html(pages.error_page("GitHub did not answer", happened, todo), 502)
    if status != 201:
        log.warning("setup.exchange_refused", extra={"status": status})
        happened = (
            f"GitHub answered {status} when this server redeemed the registration code. "
            "A code works once and expires after an hour."
        )
        todo = (
            "Register again from the setup page. If GitHub created an App in this attempt, "
            "delete it in GitHub (Settings, Developer settings, GitHub Apps)."
        )
        return _html(pages.error_page("Registration did not complete", happened, todo), 502)
    try:
        conversion = Conversion.model_validate_json(body)
    except ValidationError:
        log.warning("setup.exchange_unusable", extra={"status": status})
        happened = "GitHub's answer did not carry the App's credentials."
        todo = "Register again from the setup page; if this repeats, GitHub may be having trouble."
        return _html(pages.error_page("Registration did not complete", happened, todo), 502)

    try:
        await asyncio.to_thread(envfile.write, settings.env_file, env_values(conversion))
    except (OSError, ValueError) as exc:
        log.error(
            "setup.store_failed",
            extra={"env_file": str(settings.env_file), "error": type(exc).__name__},
        )
        happened = (
            f"The App {conversion.slug} was created, but its credentials could not be written "
            f"to {settings.env_file} ({type(exc).__name__})."
        )
        todo = (
            "Delete the App in GitHub's settings, make the file (or CANON_GATE_ENV_FILE) "
            "writable by this server, and register again."
        )
        return _html(pages.error_page("Could not save the credentials", happened, todo), 500)
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
