"""What a webhook handler gets: the App's identity, the settings and the delivery's deadline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from app.edge.auth import Permissions
from app.edge.github import GitHub, GitHubApp
from app.edge.governs import GovernsCache
from app.edge.settings import Settings


@dataclass(frozen=True)
class Context:
    github_app: GitHubApp
    settings: Settings
    http: aiohttp.ClientSession
    delivery_id: str
    deadline: float
    governs: GovernsCache

    async def client(
        self, installation_id: int, repository_id: int, permissions: Permissions
    ) -> GitHub:
        """A client whose token reaches one repository with one step's permissions."""
        return await self.github_app.installation_client(
            installation_id, repository_id, permissions, deadline=self.deadline
        )

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()
