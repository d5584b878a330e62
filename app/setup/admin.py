"""The operator's token: made on first start, and required by the operator's pages.

The setup pages, the status page (`/` in App mode) and, when `METRICS_REQUIRE_TOKEN` is on,
`/metrics` need the token; webhooks (signed) and `/healthz` stay open. It is presented as
`Authorization: Bearer <token>`, or once through `/login` or `?token=`, which set a cookie
(HttpOnly, SameSite=Strict) holding an expiring HMAC of the token, never the token itself.
GitHub's redirect back to `/setup/callback` comes from another site, so a Strict cookie does not
arrive with it: the callback is guarded by its signed, single-use state instead, which only the
token's holder could have been issued.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import SecretStr

from app.edge.runtime import RUNTIME
from app.edge.settings import Settings
from app.setup import envfile, pages

log = logging.getLogger(__name__)

ENV_NAME = "CANON_GATE_ADMIN_TOKEN"
COOKIE = "canon_gate_admin"
COOKIE_TTL_SECONDS = 12 * 3600
MIN_TOKEN_LENGTH = 24
# The routes that are the operator's; `/` is also where webhooks are POSTed, which stay open.
_PAGES = frozenset({"/", "/setup", "/setup/register"})
_METRICS = "/metrics"
# A path (and query) on this server: printable ASCII, no backslash, not `//` (another host).
_LOCAL_PATH = re.compile(r"/(?!/)[\x21-\x5b\x5d-\x7e]*")


@dataclass(frozen=True)
class NewToken:
    """A token made on this start: shown once, and where it was stored (None: nowhere)."""

    stored_in: Path | None


def ensure_token(settings: Settings) -> tuple[Settings, NewToken | None]:
    """Settings holding an admin token, and whether one was made now (so must be shown once).

    A token made here is stored in the settings' .env file (0600), so a restart keeps it; where
    the file cannot be written it lasts for this process only.
    """
    if settings.admin_token is not None:
        if len(settings.admin_token.get_secret_value()) < MIN_TOKEN_LENGTH:
            # Nothing slows down guessing: a short token is a weak lock.
            log.warning("admin.token_short", extra={"minimum": MIN_TOKEN_LENGTH})
        return settings, None
    token = secrets.token_urlsafe(32)
    stored_in: Path | None = settings.env_file
    try:
        envfile.write(settings.env_file, {ENV_NAME: token})
    except (OSError, ValueError) as exc:
        stored_in = None
        log.warning(
            "admin.token_not_stored",
            extra={"env_file": str(settings.env_file), "error": type(exc).__name__},
        )
    return settings.model_copy(update={"admin_token": SecretStr(token)}), NewToken(stored_in)


def _same(expected: SecretStr, given: str) -> bool:
    """Compare in constant time (for a given length), on bytes so any text can be compared."""
    wanted = expected.get_secret_value().encode()
    return hmac.compare_digest(wanted, given.encode("utf-8", "replace"))


def _seal(expected: SecretStr, expiry: int) -> str:
    key = expected.get_secret_value().encode()
    return hmac.new(key, f"canon-gate admin cookie:{expiry}".encode(), hashlib.sha256).hexdigest()


def cookie_value(expected: SecretStr, now: float) -> str:
    expiry = int(now + COOKIE_TTL_SECONDS)
    return f"{expiry}.{_seal(expected, expiry)}"


def _cookie_admits(expected: SecretStr, value: str, now: float) -> bool:
    expiry, _, seal = value.partition(".")
    if not expiry.isdigit() or int(expiry) < now:
        return False
    return hmac.compare_digest(_seal(expected, int(expiry)), seal)


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def admitted(request: web.Request, expected: SecretStr) -> bool:
    """Whether the request carries the token, or a cookie made from it that has not expired."""
    bearer = _bearer(request)
    if bearer is not None:
        return _same(expected, bearer)
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and _cookie_admits(expected, cookie, time.time())


def _guarded(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else None
    if path == "/" and request.method == "POST":
        return False  # a webhook delivery: its signature guards it
    if path == _METRICS:
        return request.app[RUNTIME].settings.metrics_require_token
    return path in _PAGES


def _local(path: str) -> str:
    """A path on this server to go back to after signing in; anything else goes to `/`.

    Browsers read `//host` and `/\\host` as other sites, and drop tabs and newlines first.
    """
    return path if _LOCAL_PATH.fullmatch(path) else "/"


def _login_form(next_path: str, *, refused: bool, status: int = 401) -> web.Response:
    response = _page(pages.login_page(_local(next_path), refused=refused), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="canon-gate"'
    return response


def _page(text: str, status: int) -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html")
    response.headers.update(pages.HEADERS)
    return response


def _with_cookie(request: web.Request, response: web.StreamResponse, expected: SecretStr) -> None:
    public = request.app[RUNTIME].settings.public_url or ""
    response.set_cookie(
        COOKIE,
        cookie_value(expected, time.time()),
        max_age=COOKIE_TTL_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure or public.startswith("https://"),
    )


def _refused(request: web.Request, how: str) -> None:
    # Never the token, nor what was presented: only that something was refused, and where.
    log.warning("admin.refused", extra={"path": request.path, "how": how, "remote": request.remote})


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let the operator's pages through only with the admin token; everything else passes."""
    if not _guarded(request):
        return await handler(request)
    expected = request.app[RUNTIME].settings.admin_token
    if expected is None:
        # Never open by default: `canon-gate serve` always has one, another host must set it.
        happened = f"The operator's pages are locked: this server has no {ENV_NAME}."
        todo = (
            f"Set {ENV_NAME} in the server's environment or its .env file and restart "
            "(canon-gate serve makes one on its first start and prints it once)."
        )
        return _page(pages.error_page("No admin token", happened, todo, action="Try again"), 503)
    offered = request.query.get("token") if request.method in ("GET", "HEAD") else None
    if offered is not None:
        if not _same(expected, offered):
            _refused(request, "query")
            return _login_form(request.path, refused=True)
        if request.path == _METRICS:
            return await handler(request)  # a scraper's `params`: nothing to remember
        # Remember it in a cookie and drop it from the address bar (and so from history).
        rest = urlencode([(k, v) for k, v in request.query.items() if k != "token"])
        location = f"{request.path}?{rest}" if rest else request.path
        response = web.Response(status=303, headers={"Location": location})
        _with_cookie(request, response, expected)
        return response
    if admitted(request, expected):
        return await handler(request)
    if _bearer(request) is not None:
        _refused(request, "bearer")
    elif COOKIE in request.cookies:
        _refused(request, "cookie")
    # Back to this page after signing in; a refused form post starts again from the top.
    return _login_form(request.path_qs if request.method == "GET" else "/", refused=False)


async def login_form(request: web.Request) -> web.Response:
    """The login page: one field for the admin token."""
    return _login_form(request.query.get("next", "/"), refused=False, status=200)


async def login(request: web.Request) -> web.StreamResponse:
    """Check the token from the form; remember it in a cookie and go back where the person was."""
    expected = request.app[RUNTIME].settings.admin_token
    form = await request.post()
    next_path = _local(str(form.get("next", "/")))
    if expected is None or not _same(expected, str(form.get("token", ""))):
        _refused(request, "form")
        return _login_form(next_path, refused=True)
    response = web.Response(status=303, headers={"Location": next_path})
    _with_cookie(request, response, expected)
    return response
