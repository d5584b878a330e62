"""GitHub's App Manifest flow, the pure parts: the manifest, the signed state, the conversion.

https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
The App keeps no state, so `state` is not stored: it is an HMAC over an expiry and a nonce, signed
with a secret made when the process starts. A state therefore only works on the process that
issued it, which is what a one-off registration from a setup page needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any, Literal
from urllib.parse import quote, urlencode

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr

from app import resources
from app.edge.settings import Settings

STATE_TTL_SECONDS = 3600.0  # GitHub's manifest code lives at most an hour too
# GitHub account names: alphanumerics and single hyphens, at most 39 characters.
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
MANIFEST_CODE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# Why a state is refused; `pages.CALLBACK_REFUSALS` says each in words, with what to do.
StateRefusal = Literal["missing", "malformed", "foreign", "expired", "used"]


def build_manifest(
    public_url: str, template: str | None = None, *, hook_url: str | None = None
) -> dict[str, Any]:
    """Fill the manifest's URLs from the App's public URL (webhooks: `hook_url`, if given)."""
    manifest: dict[str, Any] = yaml.safe_load(template or resources.read_text(resources.MANIFEST))
    base = public_url.rstrip("/")
    manifest["url"] = base
    hook = hook_url or f"{base}/webhooks"
    manifest["hook_attributes"] = {**manifest.get("hook_attributes", {}), "url": hook}
    manifest["redirect_url"] = f"{base}/setup/callback"
    manifest["setup_url"] = f"{base}/setup"
    return manifest


def registration_url(web_url: str, organization: str | None, state: str) -> str:
    """Where the manifest form goes: the user's own account, or an organisation's."""
    base = web_url.rstrip("/")
    query = urlencode({"state": state})
    if organization:
        return f"{base}/organizations/{quote(organization, safe='')}/settings/apps/new?{query}"
    return f"{base}/settings/apps/new?{query}"


def install_url(web_url: str, slug: str) -> str:
    return f"{web_url.rstrip('/')}/apps/{quote(slug, safe='')}/installations/new"


class StateSigner:
    """Issue and check `state` values: `expiry.nonce.signature`, each used at most once."""

    def __init__(self, secret: bytes | None = None, ttl: float = STATE_TTL_SECONDS) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._ttl = ttl
        self._used: set[str] = set()

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, now: float) -> str:
        payload = f"{int(now + self._ttl)}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    def check(self, state: str, now: float) -> StateRefusal | None:
        """Return why `state` is refused, or None when it is good (and now used)."""
        expiry, _, rest = state.partition(".")
        nonce, _, signature = rest.partition(".")
        if not expiry.isdigit() or not nonce or not signature:
            return "malformed"
        if not hmac.compare_digest(self._sign(f"{expiry}.{nonce}"), signature):
            return "foreign"
        if int(expiry) < now:
            return "expired"
        if nonce in self._used:
            return "used"
        self._used.add(nonce)
        return None


class Conversion(BaseModel):
    """GitHub's answer to `POST /app-manifests/{code}/conversions` (the fields we keep)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    slug: str
    pem: SecretStr
    webhook_secret: SecretStr
    client_id: str | None = None
    client_secret: SecretStr | None = None
    html_url: str | None = None


def env_values(conversion: Conversion) -> dict[str, str]:
    """The .env lines that make the App's credentials the operator's configuration."""
    values = {
        "GITHUB_APP_ID": str(conversion.id),
        "GITHUB_APP_SLUG": conversion.slug,
        "GITHUB_APP_PRIVATE_KEY": conversion.pem.get_secret_value(),
        "GITHUB_WEBHOOK_SECRET": conversion.webhook_secret.get_secret_value(),
    }
    if conversion.client_id:
        values["GITHUB_APP_CLIENT_ID"] = conversion.client_id
    if conversion.client_secret is not None:
        values["GITHUB_APP_CLIENT_SECRET"] = conversion.client_secret.get_secret_value()
    return values


def configured_settings(settings: Settings, conversion: Conversion) -> Settings:
    """The running settings with the new App's credentials."""
    return settings.model_copy(
        update={
            "github_app_id": conversion.id,
            "github_app_slug": conversion.slug,
            "github_app_private_key": conversion.pem,
            "github_webhook_secret": conversion.webhook_secret,
        }
    )
