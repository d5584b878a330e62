"""Repository reads: a pull request, and a person's permission on the repository."""

from __future__ import annotations

from typing import Any

from gidgethub.abc import GitHubAPI

from app.events import PullRequest, Repository


async def get_pull(gh: GitHubAPI, repo: Repository, number: int) -> PullRequest:
    data = await gh.getitem(
        "/repos/{owner}/{repo}/pulls/{number}",
        url_vars={"owner": repo.owner, "repo": repo.name, "number": str(number)},
    )
    return PullRequest.model_validate(data)


async def permission_of(gh: GitHubAPI, repo: Repository, login: str) -> str | None:
    """The person's permission on the repository, as GitHub says (never as a comment says)."""
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        url_vars={"owner": repo.owner, "repo": repo.name, "username": login},
    )
    return str(data.get("permission")) if data.get("permission") else None
