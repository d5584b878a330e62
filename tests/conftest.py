"""Shared fixtures: the fake GitHub, the App's key, pinned webhook payloads and signing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from appkit import (
    CANON,
    INSTALLATION_ID,
    REPO_ID,
    ROOT,
    WEBHOOK_SECRET,
    Gate,
    StartGate,
    make_settings,
)
from fakes.github import FakeGitHub, load_example
from fakes.github import sign as _sign
from fakes.github.auth import generate_private_key_pem
from fakes.github.state import Repo

from app.server import create_app

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


# The App under test, served on a real port, wired to the fake GitHub through the front door.


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Repo:
    fake_github.add_installation(INSTALLATION_ID, "octo-org")
    repo = fake_github.add_repo(
        "octo-org/handbook",
        repo_id=REPO_ID,
        installation_id=INSTALLATION_ID,
        files={"README.md": "# Handbook\n", "canon/audit-gates.md": CANON},
    )
    repo.install_workflow((ROOT / "workflows" / "canon-gate.yml").read_text())
    repo.set_permission("maintainer", "write")
    repo.set_permission("reader", "read")
    return repo


@pytest.fixture
async def start_gate(fake_github: FakeGitHub, repo: Repo, tmp_path: Path) -> Any:
    """Start (or restart) the App; each call is a fresh process with empty caches."""
    servers: list[TestServer] = []

    async def start(*, port: int | None = None, **overrides: Any) -> Gate:
        settings = make_settings(fake_github, tmp_path, **overrides)
        server = TestServer(create_app(settings), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        fake_github.webhook_url = str(server.make_url("/webhooks"))
        fake_github.webhook_secret = WEBHOOK_SECRET
        return Gate(fake_github, server, settings, repo)

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def gate(start_gate: StartGate) -> Gate:
    return await start_gate()
