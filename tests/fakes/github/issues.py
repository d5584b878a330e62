"""Pulls, issue comments, reactions and collaborator permissions (a pull's files, reviews and
review comments are in `reviews.py`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .auth import current_token, require_repo
from .errors import BODY, fake_of, not_found, unprocessable
from .state import Comment, Pull, Repo, ids, user_json

routes = web.RouteTableDef()
BASE = "/repos/{owner}/{repo}"


def pull_json(repo: Repo, pull: Pull) -> dict[str, Any]:
    base_json = repo.json()
    head_repo = dict(base_json)
    if pull.fork:
        head_repo.update(
            id=repo.id + 1_000_000,
            full_name=f"{pull.user}/{repo.name}",
            owner=user_json(pull.user),
            fork=True,
        )
    api = f"{repo.fake.public_api_url}/repos/{repo.full_name}"
    head_owner = pull.user if pull.fork else repo.owner
    return {
        "id": pull.id,
        "node_id": f"PR_{pull.id}",
        "number": pull.number,
        "state": pull.state,
        "draft": pull.draft,
        "title": pull.title,
        "body": None,
        "user": user_json(pull.user),
        "url": f"{api}/pulls/{pull.number}",
        "html_url": f"https://github.com/{repo.full_name}/pull/{pull.number}",
        "merged": False,
        "mergeable": None,
        "author_association": "CONTRIBUTOR" if pull.fork else "MEMBER",
        "head": {
            "label": f"{head_owner}:{pull.head_ref}",
            "ref": pull.head_ref,
            "sha": pull.head_sha,
            "user": user_json(head_owner),
            "repo": head_repo,
        },
        "base": {
            "label": f"{repo.owner}:{pull.base_ref}",
            "ref": pull.base_ref,
            "sha": repo.head(pull.base_ref),
            "user": user_json(repo.owner, "Organization"),
            "repo": base_json,
        },
    }


def find_pull(request: web.Request, repo: Repo) -> Pull:
    pull = repo.pulls.get(int(request.match_info["pull_number"]))
    if pull is None:
        raise not_found()
    return pull


@routes.get(BASE + "/pulls")
async def list_pulls(request: web.Request) -> web.Response:
    """List pull requests by `state` and `base`, sorted as GitHub does (`created`: by number)."""
    repo = require_repo(request, "pull_requests", "read")
    q = request.query
    state, base = q.get("state", "open"), q.get("base")
    found = [
        p
        for p in repo.pulls.values()
        if (state == "all" or p.state == state) and (base is None or p.base_ref == base)
    ]
    if q.get("sort", "created") != "created":
        raise unprocessable("the fake sorts by `created` only")
    # GitHub's default direction is `desc` when sorting by `created` (or not sorting at all).
    newest_first = q.get("direction", "desc") == "desc"
    found.sort(key=lambda p: p.number, reverse=newest_first)
    per_page = min(int(q.get("per_page", 30)), 100)
    page = max(int(q.get("page", 1)), 1)
    chunk = found[(page - 1) * per_page : page * per_page]
    return web.json_response([pull_json(repo, p) for p in chunk])


@routes.get(BASE + "/pulls/{pull_number}")
async def get_pull(request: web.Request) -> web.Response:
    repo = require_repo(request, "pull_requests", "read")
    return web.json_response(pull_json(repo, find_pull(request, repo)))


def comment_json(repo: Repo, comment: Comment) -> dict[str, Any]:
    fake = repo.fake
    api = f"{fake.public_api_url}/repos/{repo.full_name}"
    user = user_json(comment.user, "Bot" if comment.app_id else "User")
    return {
        "id": comment.id,
        "node_id": f"IC_{comment.id}",
        "url": f"{api}/issues/comments/{comment.id}",
        "html_url": f"https://github.com/{repo.full_name}/pull/{comment.issue_number}"
        f"#issuecomment-{comment.id}",
        "issue_url": f"{api}/issues/{comment.issue_number}",
        "body": comment.body,
        "user": user,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "author_association": "NONE" if comment.app_id else "MEMBER",
        "performed_via_github_app": fake.apps[comment.app_id].json() if comment.app_id else None,
    }


def issue_number(request: web.Request, repo: Repo) -> int:
    number = int(request.match_info["issue_number"])
    if number not in repo.issues:
        raise not_found()
    return number


@routes.get(BASE + "/issues/{issue_number}/comments")
async def list_comments(request: web.Request) -> web.Response:
    repo = require_repo(request, "issues", "read")
    number = issue_number(request, repo)
    found = [comment_json(repo, c) for c in repo.comments.values() if c.issue_number == number]
    per_page = min(int(request.query.get("per_page", 30)), 100)
    page = max(int(request.query.get("page", 1)), 1)
    return web.json_response(found[(page - 1) * per_page : page * per_page])


@routes.post(BASE + "/issues/{issue_number}/comments")
async def create_comment(request: web.Request) -> web.Response:
    repo = require_repo(request, "issues", "write")
    number = issue_number(request, repo)
    token = current_token(request)
    now = fake_of(request).clock.iso()
    login = f"{repo.fake.apps[token.app_id].slug}[bot]"
    comment = Comment(next(ids), number, request[BODY]["body"], login, token.app_id, now, now)
    repo.comments[comment.id] = comment
    return web.json_response(comment_json(repo, comment), status=201)


def find_comment(request: web.Request, repo: Repo) -> Comment:
    comment = repo.comments.get(int(request.match_info["comment_id"]))
    if comment is None:
        raise not_found()
    return comment


@routes.patch(BASE + "/issues/comments/{comment_id}")
async def update_comment(request: web.Request) -> web.Response:
    repo = require_repo(request, "issues", "write")
    comment = find_comment(request, repo)
    if comment.app_id != current_token(request).app_id:
        raise not_found()  # an App may edit only its own comments
    comment.body = request[BODY]["body"]
    comment.updated_at = fake_of(request).clock.iso()
    return web.json_response(comment_json(repo, comment))


@routes.post(BASE + "/issues/comments/{comment_id}/reactions")
async def react(request: web.Request) -> web.Response:
    repo = require_repo(request, "issues", "write")
    comment = find_comment(request, repo)
    token = current_token(request)
    login = f"{repo.fake.apps[token.app_id].slug}[bot]"
    content = request[BODY]["content"]
    for reaction in comment.reactions:
        if reaction["content"] == content and reaction["user"]["login"] == login:
            return web.json_response(reaction, status=200)
    reaction = {
        "id": next(ids),
        "node_id": "REA_x",
        "user": user_json(login, "Bot"),
        "content": content,
        "created_at": fake_of(request).clock.iso(),
    }
    comment.reactions.append(reaction)
    return web.json_response(reaction, status=201)


LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}


@routes.get(BASE + "/collaborators/{username}/permission")
async def permission(request: web.Request) -> web.Response:
    repo = require_repo(request, "metadata", "read")
    user = request.match_info["username"]
    role = repo.permissions.get(user, "none")  # an existing user without access
    return web.json_response(
        {"permission": LEGACY.get(role, "none"), "role_name": role, "user": user_json(user)}
    )
