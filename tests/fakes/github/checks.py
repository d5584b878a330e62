"""The Checks API: create, update, read and list check runs and their annotations."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .auth import current_token, require_repo
from .errors import BODY, GitHubError, fake_of, not_found, unprocessable
from .state import CheckRun, Repo, ids

routes = web.RouteTableDef()
BASE = "/repos/{owner}/{repo}"


def run_json(repo: Repo, run: CheckRun, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/repos/{repo.full_name}/check-runs/{run.id}"
    fake = repo.fake
    return {
        "id": run.id,
        "node_id": f"CR_{run.id}",
        "head_sha": run.head_sha,
        "external_id": run.external_id,
        "url": url,
        "html_url": f"https://github.com/{repo.full_name}/runs/{run.id}",
        "details_url": run.details_url,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "output": {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": len(run.annotations),
            "annotations_url": f"{url}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": run.check_suite_id},
        "app": fake.apps[run.app_id].json(),
        "pull_requests": [
            {"number": p.number, "head": {"sha": p.head_sha, "ref": p.head_ref}}
            for p in repo.pulls.values()
            if p.head_sha == run.head_sha and p.state == "open"
        ],
    }


def apply(run: CheckRun, body: dict[str, Any], now: str) -> None:
    """Apply a create/update body: a conclusion implies completed; annotations append."""
    for key in ("name", "details_url", "external_id", "started_at", "completed_at"):
        if key in body:
            setattr(run, key, body[key])
    if "status" in body:
        run.status = body["status"]
    if body.get("conclusion") is not None:
        run.conclusion = body["conclusion"]
        run.status = "completed"
    if run.status == "completed" and run.conclusion is None:
        raise unprocessable("Invalid request.\n\nconclusion is required when status is completed.")
    if run.status == "completed" and not run.completed_at:
        run.completed_at = now
    if run.status == "in_progress" and not run.started_at:
        run.started_at = now
    if "actions" in body:
        run.actions = list(body["actions"])
    output = body.get("output")
    if output is not None:
        if "title" not in output or "summary" not in output:
            raise unprocessable("Invalid request.\n\n`title` and `summary` are required in output.")
        for annotation in output.get("annotations", []):
            # Enforced by GitHub although the published schema leaves it out.
            if len(annotation.get("title") or "") > 255:
                raise unprocessable("Invalid request.\n\nAnnotation title is too long (255).")
        run.output.update({k: output[k] for k in ("title", "summary", "text") if k in output})
        run.annotations.extend(dict(a) for a in output.get("annotations", []))


@routes.post(BASE + "/check-runs")
async def create(request: web.Request) -> web.Response:
    repo = require_repo(request, "checks", "write")
    token = current_token(request)
    body: dict[str, Any] = request[BODY]
    if repo.resolve(body["head_sha"]) != body["head_sha"]:
        raise unprocessable("No commit found for SHA: " + body["head_sha"])
    fake = fake_of(request)
    suite = next(
        (
            r.check_suite_id
            for r in repo.check_runs.values()
            if r.head_sha == body["head_sha"] and r.app_id == token.app_id
        ),
        next(ids),
    )
    run = CheckRun(
        next(ids),
        token.app_id,
        body["name"],
        body["head_sha"],
        "queued",
        None,
        body.get("external_id", ""),
        body.get("details_url"),
        fake.clock.iso(),
        None,
        {},
        [],
        [],
        suite,
    )
    apply(run, body, fake.clock.iso())
    repo.check_runs[run.id] = run
    return web.json_response(run_json(repo, run, fake.public_api_url), status=201)


def find(request: web.Request, repo: Repo) -> CheckRun:
    run = repo.check_runs.get(int(request.match_info["check_run_id"]))
    if run is None:
        raise not_found()
    return run


@routes.patch(BASE + "/check-runs/{check_run_id}")
async def update(request: web.Request) -> web.Response:
    repo = require_repo(request, "checks", "write")
    run = find(request, repo)
    app_id = current_token(request).app_id
    if run.app_id != app_id:
        message = f"Invalid app_id `{app_id}` - check run can only be modified by its creator"
        raise GitHubError(403, message)
    fake = fake_of(request)
    apply(run, request[BODY] or {}, fake.clock.iso())
    return web.json_response(run_json(repo, run, fake.public_api_url))


@routes.get(BASE + "/check-runs/{check_run_id}")
async def get(request: web.Request) -> web.Response:
    repo = require_repo(request, "checks", "read")
    return web.json_response(run_json(repo, find(request, repo), fake_of(request).public_api_url))


def page(request: web.Request, items: list[Any]) -> list[Any]:
    per_page = min(int(request.query.get("per_page", 30)), 100)
    number = max(int(request.query.get("page", 1)), 1)
    return items[(number - 1) * per_page : number * per_page]


@routes.get(BASE + "/check-runs/{check_run_id}/annotations")
async def annotations(request: web.Request) -> web.Response:
    repo = require_repo(request, "checks", "read")
    run = find(request, repo)
    out = [
        {
            "path": a["path"],
            "start_line": a["start_line"],
            "end_line": a["end_line"],
            "start_column": a.get("start_column"),
            "end_column": a.get("end_column"),
            "annotation_level": a["annotation_level"],
            "title": a.get("title"),
            "message": a["message"],
            "raw_details": a.get("raw_details"),
            "blob_href": f"https://github.com/{repo.full_name}/blob/{run.head_sha}/{a['path']}",
        }
        for a in run.annotations
    ]
    return web.json_response(page(request, out))


@routes.get(BASE + "/commits/{ref:.+}/check-runs")
async def list_for_ref(request: web.Request) -> web.Response:
    repo = require_repo(request, "checks", "read")
    sha = repo.resolve(request.match_info["ref"])
    if sha is None:
        raise unprocessable("No commit found for SHA: " + request.match_info["ref"])
    q = request.query
    runs = sorted((r for r in repo.check_runs.values() if r.head_sha == sha), key=lambda r: -r.id)
    if "check_name" in q:
        runs = [r for r in runs if r.name == q["check_name"]]
    if "status" in q:
        runs = [r for r in runs if r.status == q["status"]]
    if "app_id" in q:
        runs = [r for r in runs if r.app_id == int(q["app_id"])]
    if q.get("filter", "latest") == "latest":
        seen: set[tuple[int, str]] = set()
        latest = []
        for r in runs:
            if (r.app_id, r.name) not in seen:
                seen.add((r.app_id, r.name))
                latest.append(r)
        runs = latest
    base = fake_of(request).public_api_url
    return web.json_response(
        {
            "total_count": len(runs),
            "check_runs": [run_json(repo, r, base) for r in page(request, runs)],
        }
    )
