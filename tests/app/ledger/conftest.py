"""Governance fixtures: a gidgethub client for the shared `repo` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from fakes.github import FakeGitHub, Repo
from gidgethub.aiohttp import GitHubAPI

from tests.app.ledger.ledgerkit import INSTALLATION, ClientFactory


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def client(fake_github: FakeGitHub, session: aiohttp.ClientSession) -> ClientFactory:
    """`client(permissions=...)`: a gidgethub client with an installation token from the fake."""

    def make(permissions: dict[str, str] | None = None) -> GitHubAPI:
        token = fake_github.installation_token(INSTALLATION, permissions=permissions)
        return GitHubAPI(
            session, "canon-gate-tests", oauth_token=token, base_url=fake_github.base_url
        )

    return make


@pytest.fixture
def gh(client: ClientFactory, repo: Repo) -> GitHubAPI:
    return client({"contents": "write", "metadata": "read"})
