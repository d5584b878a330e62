"""The PR conversation: replies to commands, reactions, and the App's own lifecycle comment."""

from __future__ import annotations

import logging

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from app.events import Repository
from app.judge.comment import ExistingComment, Update, choose

log = logging.getLogger(__name__)


async def reply(gh: GitHubAPI, repo: Repository, number: int, body: str) -> None:
    await gh.post(
        "/repos/{owner}/{repo}/issues/{number}/comments",
        url_vars={"owner": repo.owner, "repo": repo.name, "number": str(number)},
        data={"body": body},
    )


async def react(gh: GitHubAPI, repo: Repository, comment_id: int, content: str) -> None:
    """Acknowledge a command; best effort, since the comment may already be gone."""
    try:
        await gh.post(
            "/repos/{owner}/{repo}/issues/comments/{id}/reactions",
            url_vars={"owner": repo.owner, "repo": repo.name, "id": str(comment_id)},
            data={"content": content},
        )
    except BadRequest as exc:
        log.info("command.reaction_failed", extra={"status": int(exc.status_code)})


async def upsert_comment(
    gh: GitHubAPI, repo: Repository, pr: int, body: str, *, app_slug: str
) -> None:
    """Edit the App's own lifecycle comment in place, or post it the first time."""
    url_vars = {"owner": repo.owner, "repo": repo.name, "number": str(pr)}
    existing = [
        ExistingComment.from_api(item)
        async for item in gh.getiter(
            "/repos/{owner}/{repo}/issues/{number}/comments{?per_page}",
            url_vars={**url_vars, "per_page": "100"},
        )
    ]
    choice = choose(existing, app_slug)
    if isinstance(choice, Update):
        await gh.patch(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            url_vars={**url_vars, "id": str(choice.comment_id)},
            data={"body": body},
        )
    else:
        await reply(gh, repo, pr, body)
