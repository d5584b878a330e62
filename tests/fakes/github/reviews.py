"""A pull request's files with their patches, its reviews, and review comments on its diff.

As GitHub does: the files are the three-dot diff (the merge base of the base branch and the
head, against the head); a binary file has no `patch`. A review comment goes only on a line of
that diff (for `side: RIGHT`, an added or context line of a hunk; for `LEFT`, a removed or
context one), a multi-line comment's `start_line` before `line` and in the same hunk, and one
comment GitHub refuses refuses the whole review. A review without `event` stays PENDING: its
comments are not listed. An App edits only its own comments.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from aiohttp import web

from .apps import page_of
from .auth import current_token, require_repo
from .errors import BODY, fake_of, not_found, unprocessable
from .issues import find_pull
from .state import Pull, Repo, Review, ReviewComment, ids, user_json

routes = web.RouteTableDef()
BASE = "/repos/{owner}/{repo}"
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# GitHub's cap on a comment's body.
MAX_BODY = 65_536


def _lines(data: bytes | None) -> list[str] | None:
    """A file's lines, or None for a binary file (GitHub shows no patch for one)."""
    if data is None:
        return []
    if b"\0" in data:
        return None
    try:
        return data.decode().splitlines()
    except UnicodeDecodeError:
        return None


def file_patch(before: bytes | None, after: bytes | None) -> tuple[str | None, int, int]:
    """One file's `patch` (its hunks, without the ---/+++ header), additions and deletions."""
    old, new = _lines(before), _lines(after)
    if old is None or new is None:
        return None, 0, 0
    diff = list(difflib.unified_diff(old, new, n=3, lineterm=""))[2:]
    additions = sum(1 for line in diff if line.startswith("+"))
    deletions = sum(1 for line in diff if line.startswith("-"))
    return "\n".join(diff), additions, deletions


def diff_files(repo: Repo, pull: Pull, commit: str | None = None) -> list[dict[str, Any]]:
    """The PR's changed files at `commit` (its head by default), as `GET pulls/{n}/files`."""
    head = commit or pull.head_sha
    tip = repo.head(pull.base_ref)
    base = repo.store.merge_base(tip, head) if tip else None
    before = repo.store.flatten_commit(base) if base else {}
    after = repo.store.flatten_commit(head)
    out = []
    for path in sorted(before.keys() | after.keys()):
        if before.get(path) == after.get(path):
            continue
        status = "added" if path not in before else "removed" if path not in after else "modified"
        old = repo.store.blobs[before[path][1]] if path in before else None
        new = repo.store.blobs[after[path][1]] if path in after else None
        patch, additions, deletions = file_patch(old, new)
        item: dict[str, Any] = {
            "sha": (after.get(path) or before[path])[1],
            "filename": path,
            "status": status,
            "additions": additions,
            "deletions": deletions,
            "changes": additions + deletions,
            "blob_url": f"https://github.com/{repo.full_name}/blob/{head}/{path}",
            "raw_url": f"https://github.com/{repo.full_name}/raw/{head}/{path}",
            "contents_url": f"{repo.fake.public_api_url}/repos/{repo.full_name}/contents/{path}",
        }
        if patch is not None:
            item["patch"] = patch
        out.append(item)
    return out


def hunks(patch: str) -> list[tuple[range, range, str]]:
    """Each hunk's old-side lines, new-side lines, and text."""
    texts: list[list[str]] = []
    for line in patch.split("\n"):
        if _HUNK.match(line):
            texts.append([line])
        elif texts:
            texts[-1].append(line)
    found = []
    for text in texts:
        match = _HUNK.match(text[0])
        assert match is not None
        old_start, old_count, new_start, new_count = (int(g or "1") for g in match.groups())
        old = range(old_start, old_start + old_count)
        new = range(new_start, new_start + new_count)
        found.append((old, new, "\n".join(text)))
    return found


@routes.get(BASE + "/pulls/{pull_number}/files")
async def pull_files(request: web.Request) -> web.Response:
    repo = require_repo(request, "pull_requests", "read")
    chunk, headers = page_of(request, diff_files(repo, find_pull(request, repo)))
    return web.json_response(chunk, headers=headers)


def _place(comment: dict[str, Any], files: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """Check one draft comment against the diff, as GitHub does; return its side and hunk."""
    path = comment["path"]
    if "position" in comment:
        raise unprocessable("the fake takes `line` (and `start_line`), not `position`")
    if path not in files:
        raise unprocessable("Unprocessable Entity", ["Path could not be resolved"])
    if "line" not in comment:
        raise unprocessable("Unprocessable Entity", ["line is required"])
    side = comment.get("side", "RIGHT")
    start_side = comment.get("start_side", side)
    if side not in ("LEFT", "RIGHT") or start_side not in ("LEFT", "RIGHT"):
        raise unprocessable("Unprocessable Entity", ["side must be LEFT or RIGHT"])
    patch = files[path].get("patch")
    line, start = comment["line"], comment.get("start_line")
    for old, new, text in hunks(patch or ""):
        lines = new if side == "RIGHT" else old
        if line not in lines:
            continue
        if start is not None:
            if start >= line:
                raise unprocessable(
                    "Unprocessable Entity",
                    ["pull_request_review_thread.start_line must precede the end line."],
                )
            if start not in (new if start_side == "RIGHT" else old):
                raise unprocessable(
                    "Unprocessable Entity",
                    [
                        "pull_request_review_thread.start_line must be part of the same hunk as "
                        "the line."
                    ],
                )
        return side, text
    raise unprocessable("Unprocessable Entity", ["Line could not be resolved"])


def review_json(repo: Repo, review: Review) -> dict[str, Any]:
    pull_url = f"{repo.fake.public_api_url}/repos/{repo.full_name}/pulls/{review.pull_number}"
    html = f"https://github.com/{repo.full_name}/pull/{review.pull_number}"
    return {
        "id": review.id,
        "node_id": f"PRR_{review.id}",
        "user": user_json(review.user, "Bot" if review.app_id else "User"),
        "body": review.body,
        "state": review.state,
        "html_url": f"{html}#pullrequestreview-{review.id}",
        "pull_request_url": pull_url,
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        "submitted_at": review.submitted_at,
        "commit_id": review.commit_id,
        "author_association": "NONE" if review.app_id else "MEMBER",
    }


def review_comment_json(repo: Repo, comment: ReviewComment) -> dict[str, Any]:
    api = f"{repo.fake.public_api_url}/repos/{repo.full_name}"
    html = f"https://github.com/{repo.full_name}/pull/{comment.pull_number}"
    return {
        "id": comment.id,
        "node_id": f"PRRC_{comment.id}",
        "url": f"{api}/pulls/comments/{comment.id}",
        "pull_request_review_id": comment.review_id,
        "diff_hunk": comment.diff_hunk,
        "path": comment.path,
        "commit_id": comment.commit_id,
        "original_commit_id": comment.commit_id,
        "user": user_json(comment.user, "Bot" if comment.app_id else "User"),
        "body": comment.body,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "html_url": f"{html}#discussion_r{comment.id}",
        "pull_request_url": f"{api}/pulls/{comment.pull_number}",
        "author_association": "NONE" if comment.app_id else "MEMBER",
        "_links": {
            "self": {"href": f"{api}/pulls/comments/{comment.id}"},
            "html": {"href": f"{html}#discussion_r{comment.id}"},
            "pull_request": {"href": f"{api}/pulls/{comment.pull_number}"},
        },
        "start_line": comment.start_line,
        "original_start_line": comment.start_line,
        "start_side": comment.start_side,
        "line": comment.line,
        "original_line": comment.line,
        "side": comment.side,
        "subject_type": "line",
    }


@routes.post(BASE + "/pulls/{pull_number}/reviews")
async def create_review(request: web.Request) -> web.Response:
    repo = require_repo(request, "pull_requests", "write")
    pull = find_pull(request, repo)
    body: dict[str, Any] = request[BODY] or {}
    token = current_token(request)
    event = body.get("event")
    if event in ("COMMENT", "REQUEST_CHANGES") and not body.get("body"):
        raise unprocessable("Unprocessable Entity", [f"Body is required for {event}"])
    commit = body.get("commit_id") or pull.head_sha
    if commit not in repo.store.commits or not repo.store.is_ancestor(commit, pull.head_sha):
        raise unprocessable("Unprocessable Entity", ["commit_id is not part of the pull request"])
    drafts: list[dict[str, Any]] = body.get("comments") or []
    for draft in [body, *drafts]:
        if len(draft.get("body") or "") > MAX_BODY:
            raise unprocessable("Unprocessable Entity", ["body is too long (maximum is 65536)"])
    files = {f["filename"]: f for f in diff_files(repo, pull, commit)}
    placed = [_place(draft, files) for draft in drafts]  # any refusal refuses the review
    now = fake_of(request).clock.iso()
    login = f"{repo.fake.apps[token.app_id].slug}[bot]"
    state = {"COMMENT": "COMMENTED", "APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED"}
    review = Review(
        next(ids),
        pull.number,
        login,
        token.app_id,
        state.get(event or "", "PENDING"),
        body.get("body") or "",
        commit,
        now if event else None,
    )
    repo.reviews[review.id] = review
    for draft, (side, hunk) in zip(drafts, placed, strict=True):
        start = draft.get("start_line")
        comment = ReviewComment(
            next(ids),
            review.id,
            pull.number,
            draft["path"],
            draft["line"],
            side,
            start,
            draft.get("start_side", side) if start is not None else None,
            commit,
            hunk,
            draft["body"],
            login,
            token.app_id,
            now,
            now,
        )
        repo.review_comments[comment.id] = comment
    return web.json_response(review_json(repo, review))


@routes.get(BASE + "/pulls/{pull_number}/comments")
async def list_review_comments(request: web.Request) -> web.Response:
    repo = require_repo(request, "pull_requests", "read")
    pull = find_pull(request, repo)
    pending = {r.id for r in repo.reviews.values() if r.state == "PENDING"}
    found = [
        review_comment_json(repo, c)
        for c in sorted(repo.review_comments.values(), key=lambda c: c.id)
        if c.pull_number == pull.number and c.review_id not in pending
    ]
    chunk, headers = page_of(request, found)
    return web.json_response(chunk, headers=headers)


@routes.patch(BASE + "/pulls/comments/{comment_id}")
async def update_review_comment(request: web.Request) -> web.Response:
    repo = require_repo(request, "pull_requests", "write")
    comment = repo.review_comments.get(int(request.match_info["comment_id"]))
    if comment is None:
        raise not_found()
    if comment.app_id != current_token(request).app_id:
        raise not_found()  # an App may edit only its own comments
    text = request[BODY]["body"]
    if len(text) > MAX_BODY:
        raise unprocessable("Unprocessable Entity", ["body is too long (maximum is 65536)"])
    comment.body = text
    comment.updated_at = fake_of(request).clock.iso()
    return web.json_response(review_comment_json(repo, comment))
