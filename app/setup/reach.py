"""Where GitHub will send webhooks, and whether it can: github.com delivers only to public hosts.

Pure: the setup page, its Register handler and `canon-gate serve`'s welcome all ask `advise`, so
they never disagree about whether registering can work.
https://docs.github.com/en/webhooks/using-webhooks/delivering-webhooks-to-private-systems
(github.com delivers only over the public internet, and refuses a localhost or private webhook
URL when an App or hook is created)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

# Names that never resolve on the public internet (RFC 6761, RFC 8375, and common LAN suffixes).
_PRIVATE_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".test",
    ".example",
    ".invalid",
)


def why_not_public(url: str) -> str | None:
    """Why GitHub cannot reach `url` from the internet, in words; None when it looks public."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "it is not an http(s) address"
    if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return f"{host} is a name only this machine or its network knows"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host:
            return f"{host} is a name only this machine or its network knows"
        return None
    if ip.is_loopback:
        return f"{host} is this machine's own loopback address"
    if ip.is_unspecified:
        return f"{host} is not an address anyone can connect to"
    if not ip.is_global:
        return f"{host} is a private network address"
    return None


def is_github_com(web_url: str) -> bool:
    """github.com itself (not GitHub Enterprise Server, which may reach a private network)."""
    return (urlsplit(web_url).hostname or "").lower() == "github.com"


@dataclass(frozen=True)
class Advice:
    """Where the App's pages and webhooks are, and what stands in the way of registering."""

    base_url: str
    hook_url: str
    # PUBLIC_URL is not set: the base was guessed from the address the page was opened at.
    guessed: bool
    via_proxy: bool
    # Why GitHub cannot deliver to `hook_url`, if it cannot.
    not_public: str | None
    # github.com refuses such a webhook URL, so registering would fail: do not offer it.
    blocked: bool


def advise(public_url: str | None, opened_at: str, proxy_url: str | None, web_url: str) -> Advice:
    """Decide the manifest's URLs, and whether GitHub would accept its webhook URL."""
    base = (public_url or opened_at).rstrip("/")
    hook = proxy_url or f"{base}/webhooks"
    not_public = why_not_public(hook)
    return Advice(
        base_url=base,
        hook_url=hook,
        guessed=not public_url,
        via_proxy=proxy_url is not None,
        not_public=not_public,
        blocked=not_public is not None and is_github_com(web_url),
    )
