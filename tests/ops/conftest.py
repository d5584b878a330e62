"""Fixtures for the operations tests: the App on a real port, wired to the fake GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from fakes.github import FakeGitHub
from fakes.github.state import Repo

from app.server import create_app
from ops.opskit import INSTALLATION_ID, REPO_ID, ROOT, WEBHOOK_SECRET, Serve, Served, make_settings


@pytest.fixture
async def serve(fake_github: FakeGitHub, tmp_path: Path) -> AsyncIterator[Serve]:
    """Start the App (call again to restart it: a fresh process state each time)."""
    servers: list[TestServer] = []

    async def start(*, port: int | None = None, **overrides: Any) -> Served:
        settings = make_settings(fake_github, tmp_path, **overrides)
        server = TestServer(create_app(settings), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        fake_github.webhook_url = str(server.make_url("/webhooks"))
        fake_github.webhook_secret = WEBHOOK_SECRET
        return Served(server, settings)

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Repo:
    """An installed repository with the audit workflow on its default branch."""
    fake_github.add_installation(INSTALLATION_ID, "octo-org")
    repo = fake_github.add_repo(
        "octo-org/handbook",
        repo_id=REPO_ID,
        installation_id=INSTALLATION_ID,
        files={"README.md": "# Handbook\n", "canon/gates.md": "---\nuri: x\n---\n"},
    )
    repo.install_workflow((ROOT / "workflows" / "canon-gate.yml").read_text())
    return repo
