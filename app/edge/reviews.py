"""Pull-request reviews: the PR's patches, its review comments, one review, and comment edits.

https://docs.github.com/en/rest/pulls/reviews#create-a-review-for-a-pull-request
https://docs.github.com/en/rest/pulls/comments
"""

from __future__ import annotations

from typing import Any

from gidgethub.abc import GitHubAPI

from app.events import Repository
from app.judge.comment import ExistingComment
from app.judge.suggestions import Review


def _pull(repo: Repository, pr: int) -> dict[str, str]:
    return {"owner": repo.owner, "repo": repo.name, "pull_number": str(pr)}


async def patches(gh: GitHubAPI, repo: Repository, pr: int) -> dict[str, str]:
    """Each changed file's patch, by path; a file GitHub shows no patch for (binary, or too
    large) is left out. GitHub lists at most 3,000 files."""
    found: dict[str, str] = {}
    item: Any
    async for item in gh.getiter(
        "/repos/{owner}/{repo}/pulls/{pull_number}/files{?per_page}",
        url_vars={**_pull(repo, pr), "per_page": "100"},
    ):
        patch = item.get("patch")
        if isinstance(patch, str) and patch:
            found[str(item["filename"])] = patch
    return found


async def review_comments(gh: GitHubAPI, repo: Repository, pr: int) -> list[ExistingComment]:
    """Every review comment on the PR, anyone's (the caller keeps the App's own)."""
    return [
        ExistingComment.from_api(item)
        async for item in gh.getiter(
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments{?per_page}",
            url_vars={**_pull(repo, pr), "per_page": "100"},
        )
    ]


async def post_review(gh: GitHubAPI, repo: Repository, pr: int, review: Review) -> None:
    """Submit one review with all its comments: one notification, however many comments."""
    await gh.post(
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        url_vars=_pull(repo, pr),
        data=review.to_api(),
    )


async def edit_comment(gh: GitHubAPI, repo: Repository, comment_id: int, body: str) -> None:
    """Edit a review comment in place (resolving its thread is GraphQL-only)."""
    await gh.patch(
        "/repos/{owner}/{repo}/pulls/comments/{comment_id}",
        url_vars={"owner": repo.owner, "repo": repo.name, "comment_id": str(comment_id)},
        data={"body": body},
    )
