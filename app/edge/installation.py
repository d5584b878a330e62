"""Read what an installation grants the App: its permissions and webhook events.

Asked of GitHub each time (one call with the App's JWT): an installation's owner may accept new
permissions at any moment, and the App keeps no state.
"""

from __future__ import annotations

from typing import Any

from app.edge.github import GitHubApp
from app.events import InstallationGrants


async def read_grants(
    github_app: GitHubApp, installation_id: int, *, deadline: float | None = None
) -> InstallationGrants:
    """`GET /app/installations/{id}`: the installation's permissions, events and settings page."""
    # https://docs.github.com/en/rest/apps/apps#get-an-installation-for-the-authenticated-app
    data: Any = await github_app.app_client(deadline=deadline).getitem(
        "/app/installations/{installation_id}",
        url_vars={"installation_id": str(installation_id)},
        jwt=github_app.jwt(),
    )
    return InstallationGrants.model_validate(data)
