"""The setup pages escape everything and never show the manifest as raw JSON."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from app.setup import pages
from app.setup.manifest import build_manifest


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
    return " ".join(parser.text)


def test_setup_page_carries_the_manifest_in_a_hidden_field_only() -> None:
    manifest = build_manifest("https://gate.example.com")
    raw = json.dumps(manifest)
    html = pages.setup_page(
        raw, manifest["default_permissions"], manifest["default_events"], "https://gate.example.com"
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
    for html in (
        pages.status_page(1, evil, "https://x/'><script>"),
        pages.registered_page(1, evil, "https://x/'><script>", evil),
        pages.error_page(evil, evil),
        pages.setup_page(evil, {"checks": evil}, [evil], evil, warning=evil),
    ):
        assert "<img" not in html
        assert "<script>" not in html


def test_status_page_never_shows_a_secret_and_links_the_install() -> None:
    html = pages.status_page(
        42, "canon-gate", "https://github.com/apps/canon-gate/installations/new"
    )
    assert "42" in html
    assert "installations/new" in html
    assert "secret" not in visible_text(html).lower() or "CLAUDE_CODE_OAUTH_TOKEN" in html
