"""What `canon-gate serve` says to a person at a terminal before the logs start.

Pure text: which mode it starts in, the address to open, and what PUBLIC_URL (or, on a laptop,
WEBHOOK_PROXY_URL) is for. Off a terminal nothing here is printed and the logs stay JSON.
"""

from __future__ import annotations

import textwrap

from app.edge.settings import Settings
from app.setup.reach import advise


def local_address(settings: Settings) -> str:
    """Where a browser on this machine opens the App."""
    host = settings.host
    if host in ("", "0.0.0.0", "::", "127.0.0.1", "::1"):  # noqa: S104 - listening, not binding
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


WIDTH = 88


def _public_url_note(settings: Settings, opened_at: str) -> str:
    """One paragraph: what PUBLIC_URL is for, and what to do about it now."""
    advice = advise(
        settings.public_url, opened_at, settings.webhook_proxy_url, settings.github_web_url
    )
    text = (
        "PUBLIC_URL is the address GitHub sends webhooks to (and brings you back to after "
        "registering)."
    )
    if advice.via_proxy:
        text += (
            f" Webhooks come through the proxy channel {advice.hook_url} (WEBHOOK_PROXY_URL), "
            "for local development only."
        )
    elif advice.blocked:
        state = "It is not set" if advice.guessed else f"It is {settings.public_url}"
        text += (
            f" {state}, and GitHub cannot deliver to {advice.hook_url}. On a server, set "
            "PUBLIC_URL to its public https address; on your own machine, set "
            "WEBHOOK_PROXY_URL to a channel from https://smee.io/new (development only). "
            "The setup page explains both."
        )
    elif advice.guessed:
        text += " It is not set, so the setup page uses the address you open it at."
    else:
        text += f" It is {settings.public_url}: webhooks go to {advice.hook_url}."
    return textwrap.fill(
        text,
        WIDTH,
        initial_indent="  ",
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def welcome(settings: Settings, token_address: str | None) -> str:
    """The few lines to read before the logs; `token_address` signs in (shown only once)."""
    local = local_address(settings)
    where = (settings.public_url or local).rstrip("/")
    if settings.configured:
        head = f"canon-gate is running as GitHub App {settings.github_app_slug or ''} "
        head += f"(ID {settings.github_app_id})."
        body = [
            f"Status page:  {where}/   (whether GitHub accepts the App, its deliveries)",
            f"Readiness:    {local}/readyz",
        ]
    else:
        head = "canon-gate is running in setup mode: it has no GitHub App yet."
        body = [f"To register the App with GitHub, open {where}/setup"]
    if token_address is not None:
        body += [
            f"Sign in at    {token_address}",
            "              (this address holds the admin token and is shown only now;",
            f"              the token is kept in {settings.env_file})",
        ]
    else:
        body.append(
            f"Sign in with the admin token (CANON_GATE_ADMIN_TOKEN, kept in {settings.env_file})."
        )
    lines = [head, "", *(f"  {line}" for line in body), "", _public_url_note(settings, local)]
    lines += ["", "Logs follow. Ctrl-C stops the server."]
    return "\n".join(lines) + "\n"
