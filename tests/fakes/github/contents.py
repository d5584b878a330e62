"""Repository metadata, the Contents API and commit comparison."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from .auth import readable_repo, require_repo
from .errors import not_found, unprocessable
from .gitdata import api, commit_json
from .state import Repo

routes = web.RouteTableDef()
BASE = "/repos/{owner}/{repo}"


@routes.get(BASE)
async def get_repo(request: web.Request) -> web.Response:
    repo = require_repo(request, "metadata", "read")
    return web.json_response(repo.json())


@routes.get(BASE + "/contents/{path:.+}")
async def contents(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "read")
    sha = repo.resolve(request.query.get("ref", repo.default_branch))
    if sha is None:
        raise not_found()
    path = request.match_info["path"].strip("/")
    sha_of_root = repo.store.commits[sha].tree
    files = repo.store.flatten(sha_of_root)
    if path in files:
        data = repo.store.blobs[files[path][1]]
        return web.json_response(entry_json(repo, path, files[path][1], "file", data))
    listing = sorted({p[len(path) + 1 :].split("/")[0] for p in files if p.startswith(path + "/")})
    if not listing:
        raise not_found()
    out = []
    for name in listing:
        child = f"{path}/{name}"
        kind = "file" if child in files else "dir"
        sha = files[child][1] if kind == "file" else repo.store.subtree(sha_of_root, child)
        out.append(entry_json(repo, child, sha, kind, None))
    return web.json_response(out)


@routes.get(BASE + "/commits/{ref}")
async def get_commit(request: web.Request) -> web.Response:
    """One commit by SHA, branch or tag name (a public repository answers anyone)."""
    repo = readable_repo(request, "contents", "read")
    ref = request.match_info["ref"]
    sha = repo.resolve(ref)
    if sha is None:
        raise unprocessable(f"No commit found for SHA: {ref}")
    git = commit_json(repo, sha)
    return web.json_response(
        {
            "sha": sha,
            "node_id": git["node_id"],
            "url": f"{api(repo)}/commits/{sha}",
            "html_url": git["html_url"],
            "commit": {k: git[k] for k in ("author", "committer", "message", "tree")},
            "parents": git["parents"],
        }
    )


def entry_json(repo: Repo, path: str, sha: str, kind: str, data: bytes | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": kind,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "size": len(repo.store.blobs[sha]) if kind == "file" else 0,
        "url": f"{api(repo)}/contents/{path}",
        "html_url": f"https://github.com/{repo.full_name}/blob/HEAD/{path}",
        "git_url": f"{api(repo)}/git/blobs/{sha}",
        "download_url": None,
    }
    if data is not None:
        item["encoding"] = "base64"
        item["content"] = base64.encodebytes(data).decode()
    return item


@routes.get(BASE + "/compare/{basehead}")
async def compare(request: web.Request) -> web.Response:
    repo = require_repo(request, "contents", "read")
    base, _, head = request.match_info["basehead"].partition("...")
    base_sha, head_sha = repo.resolve(base), repo.resolve(head)
    if base_sha is None or head_sha is None:
        raise not_found()
    before, after = repo.store.flatten_commit(base_sha), repo.store.flatten_commit(head_sha)
    files = []
    for path in sorted(before.keys() | after.keys()):
        if before.get(path) == after.get(path):
            continue
        status = "added" if path not in before else "removed" if path not in after else "modified"
        files.append({"filename": path, "status": status, "sha": (after.get(path) or ("", ""))[1]})
    ahead = repo.store.is_ancestor(base_sha, head_sha)
    behind = repo.store.is_ancestor(head_sha, base_sha)
    merge_base = repo.store.merge_base(base_sha, head_sha) or base_sha
    status = (
        "identical"
        if base_sha == head_sha
        else "ahead"
        if ahead
        else "behind"
        if behind
        else "diverged"
    )
    return web.json_response(
        {
            "status": status,
            "base_commit": commit_json(repo, base_sha),
            "merge_base_commit": commit_json(repo, merge_base),
            "files": files,
            "commits": [],
            "total_commits": 0,
        }
    )
