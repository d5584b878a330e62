"""Shared fixtures: the fake GitHub, the App's key, pinned webhook payloads and signing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from fakes.github import FakeGitHub, load_example
from fakes.github import sign as _sign
from fakes.github.auth import generate_private_key_pem

APP_ID = 424242


@pytest.fixture(scope="session")
def github_app_key() -> str:
    """The App's RSA private key (PEM), generated once per session."""
    return generate_private_key_pem()


@pytest.fixture
async def fake_github(github_app_key: str) -> AsyncIterator[FakeGitHub]:
    """A FakeGitHub on a random port; fails the test if any request broke GitHub's schema."""
    fake = FakeGitHub(app_id=APP_ID, private_key=github_app_key)
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    fake.bind(str(server.make_url("")))
    try:
        yield fake
    finally:
        await server.close()
    assert not fake.violations, f"requests that GitHub would refuse: {fake.violations}"


@pytest.fixture
def webhook_payload() -> Callable[[str], dict[str, Any]]:
    """Load a pinned real example payload by name, e.g. `pull_request.opened`."""
    return load_example


@pytest.fixture
def sign() -> Callable[[bytes, str], str]:
    """`sign(body, secret)` -> the `X-Hub-Signature-256` header value."""
    return _sign
