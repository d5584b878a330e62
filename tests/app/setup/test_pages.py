"""The setup pages escape everything, never show the manifest as raw JSON, and never offer to
register an App that GitHub could not deliver webhooks to."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from app.edge.appinfo import AppStatus, Problem
from app.setup import pages, status
from app.setup.manifest import build_manifest
from app.setup.reach import Advice, advise
from app.setup.status import StatusView


class Visible(HTMLParser):
    """Collect the text a person sees (not attributes, not <style>)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def visible_text(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join("".join(parser.text).split())


def advice(url: str = "https://gate.example.com", **kwargs: str | None) -> Advice:
    values: dict[str, str | None] = {
        "public_url": url,
        "opened_at": "http://localhost:3000",
        "proxy_url": None,
        "web_url": "https://github.com",
        **kwargs,
    }
    return advise(
        values["public_url"], str(values["opened_at"]), values["proxy_url"], str(values["web_url"])
    )


def test_setup_page_carries_the_manifest_in_a_hidden_field_only() -> None:
    manifest = build_manifest("https://gate.example.com")
    raw = json.dumps(manifest)
    html = pages.setup_page(
        raw, manifest["default_permissions"], manifest["default_events"], advice()
    )
    value = re.search(r"name='manifest' value='([^']*)'", html)
    assert value is not None
    from html import unescape

    assert json.loads(unescape(value.group(1))) == manifest
    seen = visible_text(html)
    assert "{" not in seen
    assert "default_permissions" not in seen
    assert "Register GitHub App" in seen
    assert "create and conclude the canon-gate check run" in seen
    assert "https://gate.example.com/webhooks" in seen
    assert "<script" not in html  # the page works without JavaScript


def test_everything_shown_is_escaped() -> None:
    evil = "<img src=x onerror=alert(1)>'\""
    github = AppStatus(problem=Problem("refused", evil))
    view = StatusView(
        app_id=1,
        slug=evil,
        web_url="https://github.com",
        install_link="https://x/'><script>",
        expected_hook=evil,
        redeliver_minutes=5,
        github=github,
        proxy=None,
        now=datetime.now(UTC),
    )
    for html in (
        status.status_page(view),
        pages.registered_page(1, evil, "https://x/'><script>", evil),
        pages.error_page(evil, evil, evil),
        pages.setup_page(evil, {"checks": evil}, [evil], advice(evil)),
        pages.setup_page(evil, {"checks": evil}, [evil], advice(f"https://{evil}")),
    ):
        assert "<img" not in html
        assert "<script>" not in html


def test_a_webhook_address_github_cannot_reach_offers_no_register_button() -> None:
    html = pages.setup_page("{}", {}, ["pull_request"], advice(None))
    seen = visible_text(html)
    assert "id='register'" not in html
    assert "GitHub will not deliver webhooks" in seen
    assert "localhost is a name only this machine" in seen
    assert "WEBHOOK_PROXY_URL" in seen
    assert "PUBLIC_URL" in seen
    assert "https://smee.io/new" in html
    # GitHub Enterprise Server may reach a private network: warn, but let the operator try.
    ghes = pages.setup_page("{}", {}, [], advice(None, web_url="https://ghe.example.com"))
    assert "id='register'" in ghes
    assert "must be able to reach it" in visible_text(ghes)


def test_the_proxy_channel_is_the_webhook_and_registering_works_from_localhost() -> None:
    channel = "https://smee.io/AbCdEf123"
    html = pages.setup_page("{}", {}, [], advice(None, proxy_url=channel))
    assert "id='register'" in html
    assert "proxy channel" in visible_text(html)
    assert "development only" in visible_text(html)


def test_chips_never_wrap_inside_and_addresses_wrap_only_after_a_slash() -> None:
    assert pages.chip("canon-gate init") == "<code>canon-gate init</code>"
    assert pages.url_chip("https://a-b.example/c") == (
        "<code class='url'><span class='nb'>https:</span>/<wbr>/<wbr>"
        "<span class='nb'>a-b.example</span>/<wbr><span class='nb'>c</span></code>"
    )
    assert pages.words("the canon-gate check") == "the <span class='nb'>canon-gate</span> check"
    css = pages.layout("t", "")
    assert re.search(r"\ncode\{[^}]*white-space:nowrap", css)
