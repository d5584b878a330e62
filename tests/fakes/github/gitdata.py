"""Repository, Contents and Git Data routes over the fake's little object store."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from .auth import current_token, require_repo
from .errors import BODY, GitHubError, fake_of, not_found, unprocessable
from .state import AUTHOR, LEVELS, Repo

routes = web.RouteTableDef()
BASE = "/repos/{owner}/{repo}"
WORKFLOWS = ".github/workflows/"


def api(repo: Repo) -> str:
    return f"{repo.fake.public_api_url}/repos/{repo.full_name}"


def ref_json(repo: Repo, ref: str) -> dict[str, Any]:
    sha = repo.refs[ref]
    return {
        "ref": ref,
        "node_id": f"REF_{ref}",
        "url": f"{api(repo)}/git/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{api(repo)}/git/commits/{sha}"},
    }


def commit_json(repo: Repo, sha: str) -> dict[str, Any]:
    commit = repo.store.commits[sha]
    return {
        "sha": sha,
        "node_id": f"C_{sha}",
        "url": f"{api(repo)}/git/commits/{sha}",
        "html_url": f"https://github.com/{repo.full_name}/commit/{sha}",
        "author": commit.author,
        "committer": commit.author,
        "message": commit.message,
        "tree": {"sha": commit.tree, "url": f"{api(repo)}/git/trees/{commit.tree}"},
        "parents": [{"sha": p, "url": f"{api(repo)}/git/commits/{p}"} for p in commit.parents],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
        },
    }


def not_empty(repo: Repo) -> None:
    if not repo.refs:
        raise GitHubError(409, "Git Repository is empty.")


@routes.get(BASE + "/git/ref/{ref:.+}")
async def get_ref(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "read")
    ref = "refs/" + request.match_info["ref"]
    if ref not in repo.refs:
        raise not_found()
    return web.json_response(ref_json(repo, ref))


def guard_write(request: web.Request, repo: Repo, ref: str, old: str | None, new: str) -> None:
    """Refuse what GitHub refuses: protected branches and workflow edits without the permission."""
    branch = ref.removeprefix("refs/heads/")
    if branch in repo.protected:
        raise GitHubError(422, f"Protected branch update failed for {ref}.")
    before = {} if old is None else repo.store.flatten(repo.store.commits[old].tree)
    after = repo.store.flatten(repo.store.commits[new].tree)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    token = current_token(request)
    if (
        any(p.startswith(WORKFLOWS) for p in changed)
        and LEVELS[token.permissions.get("workflows", "none")] < LEVELS["write"]
    ):
        path = min(p for p in changed if p.startswith(WORKFLOWS))
        raise GitHubError(
            403,
            f"refusing to allow a GitHub App to create or update workflow `{path}` without "
            "`workflows` permission",
        )


@routes.post(BASE + "/git/refs")
async def create_ref(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "write")
    body: dict[str, Any] = request[BODY]
    ref, sha = body["ref"], body["sha"]
    if not repo.refs:
        raise unprocessable("Git Repository is empty.")
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise unprocessable("Reference name must start with 'refs/' and have at least two slashes.")
    if ref in repo.refs:
        raise unprocessable("Reference already exists")
    if sha not in repo.store.commits:
        raise unprocessable("Object does not exist")
    guard_write(request, repo, ref, None, sha)
    repo.refs[ref] = sha
    return web.json_response(ref_json(repo, ref), status=201)


@routes.patch(BASE + "/git/refs/{ref:.+}")
async def update_ref(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "write")
    body: dict[str, Any] = request[BODY]
    ref = "refs/" + request.match_info["ref"]
    if ref not in repo.refs:
        raise unprocessable("Reference does not exist")
    sha = body["sha"]
    if sha not in repo.store.commits:
        raise unprocessable("Object does not exist")
    old = repo.refs[ref]
    if not body.get("force") and not repo.store.is_ancestor(old, sha):
        raise unprocessable("Update is not a fast forward")
    guard_write(request, repo, ref, old, sha)
    repo.refs[ref] = sha
    return web.json_response(ref_json(repo, ref))


@routes.post(BASE + "/git/blobs")
async def create_blob(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "write")
    not_empty(repo)
    body: dict[str, Any] = request[BODY]
    raw = body["content"]
    data = base64.b64decode(raw) if body.get("encoding") == "base64" else raw.encode()
    sha = repo.store.put_blob(data)
    return web.json_response({"sha": sha, "url": f"{api(repo)}/git/blobs/{sha}"}, status=201)


@routes.get(BASE + "/git/blobs/{file_sha}")
async def get_blob(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "read")
    sha = request.match_info["file_sha"]
    if sha not in repo.store.blobs:
        raise not_found()
    data = repo.store.blobs[sha]
    return web.json_response(
        {
            "sha": sha,
            "node_id": f"B_{sha}",
            "size": len(data),
            "url": f"{api(repo)}/git/blobs/{sha}",
            "content": base64.encodebytes(data).decode(),
            "encoding": "base64",
        }
    )


@routes.post(BASE + "/git/trees")
async def create_tree(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "write")
    not_empty(repo)
    body: dict[str, Any] = request[BODY]
    store = repo.store
    files: dict[str, tuple[str, str]] = {}
    if "base_tree" in body:
        if body["base_tree"] not in store.trees:
            raise unprocessable("base_tree is not a valid tree oid")
        files = store.flatten(body["base_tree"])
    for entry in body["tree"]:
        path = entry["path"]
        if "content" in entry:
            files[path] = (entry.get("mode", "100644"), store.put_blob(entry["content"].encode()))
        elif entry.get("sha") is None:
            for existing in [p for p in files if p == path or p.startswith(path + "/")]:
                del files[existing]
        elif entry.get("type") == "tree":
            if entry["sha"] not in store.trees:
                raise unprocessable("tree.sha is not a valid tree")
            files.update({f"{path}/{p}": v for p, v in store.flatten(entry["sha"]).items()})
        else:
            if entry["sha"] not in store.blobs:
                raise unprocessable(f"tree.sha {entry['sha']} is not a valid blob")
            files[path] = (entry.get("mode", "100644"), entry["sha"])
    sha = store.build(files)
    return web.json_response(tree_json(repo, sha, recursive=False), status=201)


def tree_json(repo: Repo, sha: str, *, recursive: bool) -> dict[str, Any]:
    return {
        "sha": sha,
        "url": f"{api(repo)}/git/trees/{sha}",
        "tree": repo.store.tree_json(sha, api(repo), recursive=recursive),
        "truncated": False,
    }


@routes.get(BASE + "/git/trees/{tree_sha}")
async def get_tree(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "read")
    sha = request.match_info["tree_sha"]
    if sha not in repo.store.trees:
        resolved = repo.resolve(sha)
        if resolved is None:
            raise not_found()
        sha = repo.store.commits[resolved].tree
    recursive = request.query.get("recursive") not in (None, "", "0", "false")
    return web.json_response(tree_json(repo, sha, recursive=recursive))


@routes.post(BASE + "/git/commits")
async def create_commit(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "write")
    not_empty(repo)
    body: dict[str, Any] = request[BODY]
    if body["tree"] not in repo.store.trees:
        raise unprocessable("Tree SHA does not exist")
    parents = list(body.get("parents") or [])
    if any(p not in repo.store.commits for p in parents):
        raise unprocessable("Parent SHA does not exist or is not a commit object")
    # Without an author, GitHub credits the token's identity and dates the commit now.
    author = dict(body.get("author") or {k: v for k, v in AUTHOR.items() if k != "date"})
    author.setdefault("date", fake_of(request).clock.iso())
    sha = repo.store.put_commit(body["tree"], parents, body["message"], author)
    return web.json_response(commit_json(repo, sha), status=201)


@routes.get(BASE + "/git/commits/{commit_sha}")
async def get_commit(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "read")
    sha = request.match_info["commit_sha"]
    if sha not in repo.store.commits:
        raise not_found()
    return web.json_response(commit_json(repo, sha))


@routes.get(BASE + "/commits")
async def list_commits(request: web.Request) -> web.Response:
    """List commits from a branch or SHA, newest first, as GitHub does: first parents, filtered
    by `since` (the author date), paginated by `per_page` and `page`."""
    repo = require_repo(request, "contents", "read")
    start = request.query.get("sha") or repo.default_branch
    tip = start if start in repo.store.commits else repo.head(start)
    if tip is None:
        raise not_found()
    since = request.query.get("since")
    per_page = int(request.query.get("per_page", "30"))
    page = int(request.query.get("page", "1"))
    listed: list[dict[str, Any]] = []
    sha: str | None = tip
    while sha is not None:
        commit = repo.store.commits[sha]
        if since is None or str(commit.author.get("date", "")) >= since:
            listed.append(
                {
                    "sha": sha,
                    "node_id": f"C_{sha}",
                    "url": f"{api(repo)}/commits/{sha}",
                    "html_url": f"https://github.com/{repo.full_name}/commit/{sha}",
                    "commit": commit_json(repo, sha),
                    "parents": [
                        {"sha": p, "url": f"{api(repo)}/commits/{p}"} for p in commit.parents
                    ],
                }
            )
        sha = commit.parents[0] if commit.parents else None
    return web.json_response(listed[(page - 1) * per_page : page * per_page])
