"""The Actions API: workflow dispatch, runs, artifacts and their short-lived download URLs."""

from __future__ import annotations

import re
import secrets
from typing import Any

import yaml
from aiohttp import web

from .auth import require_repo
from .errors import BODY, GitHubError, fake_of, not_found, unprocessable
from .state import Artifact, Repo, WorkflowRun, ids

routes = web.RouteTableDef()
BASE = "/repos/{owner}/{repo}"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BLOB_TTL = 60.0  # GitHub's artifact download URLs expire after 1 minute.
ARTIFACT_TTL = 90 * 86400.0


def workflow_file(repo: Repo, workflow: str, sha: str) -> tuple[str, dict[str, Any]] | None:
    """Return (path, parsed YAML) of a workflow by file name or numeric id at a commit."""
    if workflow.isdigit():
        names = [n for n, i in repo.workflow_ids.items() if str(i) == workflow]
        workflow = names[0] if names else workflow
    path = f".github/workflows/{workflow}"
    raw = repo.store.read(sha, path)
    if raw is None:
        return None
    repo.workflow_ids.setdefault(workflow, next(ids))
    doc = yaml.safe_load(raw) or {}
    return path, doc


def dispatch_inputs(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Return the declared workflow_dispatch inputs, or None if the workflow has no such trigger."""
    on = doc.get("on", doc.get(True))  # PyYAML reads a bare `on:` key as True.
    if on == "workflow_dispatch" or (isinstance(on, list) and "workflow_dispatch" in on):
        return {}
    if isinstance(on, dict) and "workflow_dispatch" in on:
        return dict((on["workflow_dispatch"] or {}).get("inputs") or {})
    return None


def render(template: str, inputs: dict[str, Any]) -> str:
    """Render `${{ inputs.x || 'default' }}` expressions the way run-name does."""

    def one(match: re.Match[str]) -> str:
        for operand in match.group(1).split("||"):
            operand = operand.strip()
            if operand.startswith("inputs."):
                value = inputs.get(operand.removeprefix("inputs."))
            elif operand[:1] in "'\"":
                value = operand[1:-1]
            elif operand == "github.event_name":
                value = "workflow_dispatch"
            else:
                value = None
            if value not in (None, "", False):
                return str(value).lower() if isinstance(value, bool) else str(value)
        return ""

    return EXPRESSION.sub(one, template)


def dispatch(repo: Repo, workflow: str, ref: str, given: dict[str, Any]) -> WorkflowRun:
    """Create the run a workflow_dispatch would create, or raise GitHub's error."""
    branch = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    default_head = repo.head(repo.default_branch)
    if default_head is None or workflow_file(repo, workflow, default_head) is None:
        raise not_found()
    if ref.startswith(("refs/tags/", "refs/heads/")):
        sha = repo.refs.get(ref)
    else:  # a short name: the branch, else a tag of that name
        sha = repo.refs.get(f"refs/heads/{branch}") or repo.refs.get(f"refs/tags/{branch}")
    if sha is None:
        raise unprocessable(f"No ref found for: {ref}")
    found = workflow_file(repo, workflow, sha)
    if found is None:
        raise not_found()
    path, doc = found
    declared = dispatch_inputs(doc)
    if declared is None:
        raise unprocessable("Workflow does not have 'workflow_dispatch' trigger")
    unexpected = sorted(set(given) - set(declared))
    if unexpected:
        raise unprocessable(f"Unexpected inputs provided: {unexpected!r}".replace("'", '"'))
    inputs: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in given:
            inputs[name] = given[name]
        elif "default" in spec:
            inputs[name] = spec["default"]
        elif spec.get("required"):
            raise unprocessable(f"Required input '{name}' not provided")
    name = str(doc.get("name") or path)
    run = WorkflowRun(
        id=next(ids),
        name=name,
        display_title=render(str(doc.get("run-name") or name), inputs),
        path=path,
        head_sha=sha,
        head_branch=branch,
        event="workflow_dispatch",
        inputs=inputs,
        run_number=len(repo.runs) + 1,
        created_at=repo.fake.clock.iso(),
        repo=repo,
    )
    repo.runs[run.id] = run
    return run


def complete(
    repo: Repo,
    run: WorkflowRun,
    conclusion: str,
    artifacts: dict[str, bytes],
    jobs: dict[str, str] | None = None,
) -> None:
    """Finish a run. Its jobs default to those of the packaged workflow auditing one gate: the
    plan job and the gate's job (the `gate` input, else `canon-gate`), both ending as the run."""
    run.status, run.conclusion = "completed", conclusion
    now = repo.fake.clock.now()
    for name, data in artifacts.items():
        run.artifacts.append(Artifact(next(ids), name, data, run.id, now))
    if jobs is None:
        gate = str(run.inputs.get("gate") or "canon-gate")
        jobs = {"plan": conclusion, f"gate {gate}": conclusion}
    run.jobs = dict(jobs)


def job_json(
    repo: Repo, run: WorkflowRun, index: int, name: str, conclusion: str
) -> dict[str, Any]:
    base = f"{repo.fake.public_api_url}/repos/{repo.full_name}"
    job_id = run.id * 100 + index
    started = run.created_at
    return {
        "id": job_id,
        "run_id": run.id,
        "run_url": f"{base}/actions/runs/{run.id}",
        "run_attempt": 1,
        "node_id": f"CR_{job_id}",
        "head_sha": run.head_sha,
        "head_branch": run.head_branch,
        "url": f"{base}/actions/jobs/{job_id}",
        "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run.id}/job/{job_id}",
        "status": "completed" if run.status == "completed" else "in_progress",
        "conclusion": conclusion if run.status == "completed" else None,
        "created_at": started,
        "started_at": started,
        "completed_at": started if run.status == "completed" else None,
        "name": name,
        "steps": [],
        "check_run_url": f"{base}/check-runs/{job_id}",
        "labels": ["ubuntu-latest"],
        "runner_id": 1,
        "runner_name": "GitHub Actions 1",
        "runner_group_id": 1,
        "runner_group_name": "GitHub Actions",
        "workflow_name": run.name,
    }


def run_json(repo: Repo, run: WorkflowRun) -> dict[str, Any]:
    base = f"{repo.fake.public_api_url}/repos/{repo.full_name}"
    return {
        "id": run.id,
        "name": run.name,
        "node_id": f"WFR_{run.id}",
        "display_title": run.display_title,
        "path": run.path,
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "run_number": run.run_number,
        "run_attempt": 1,
        "workflow_id": repo.workflow_ids.get(run.path.rsplit("/", 1)[-1], 0),
        "url": f"{base}/actions/runs/{run.id}",
        "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run.id}",
        "artifacts_url": f"{base}/actions/runs/{run.id}/artifacts",
        "created_at": run.created_at,
        "updated_at": run.created_at,
        "pull_requests": [],
        "repository": repo.json(),
        "head_repository": repo.json(),
    }


def artifact_json(repo: Repo, artifact: Artifact, run: WorkflowRun) -> dict[str, Any]:
    base = f"{repo.fake.public_api_url}/repos/{repo.full_name}/actions/artifacts/{artifact.id}"
    clock = repo.fake.clock
    return {
        "id": artifact.id,
        "node_id": f"MDg6QXJ0aWZhY3Q{artifact.id}",
        "name": artifact.name,
        "size_in_bytes": (
            len(artifact.data) if artifact.listed_size is None else artifact.listed_size
        ),
        "url": base,
        "archive_download_url": f"{base}/zip",
        "expired": artifact.expired,
        "created_at": clock.iso(artifact.created_at),
        "expires_at": clock.iso(artifact.created_at + ARTIFACT_TTL),
        "updated_at": clock.iso(artifact.created_at),
        "workflow_run": {
            "id": run.id,
            "repository_id": repo.id,
            "head_repository_id": repo.id,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
        },
    }


@routes.post(BASE + "/actions/workflows/{workflow_id}/dispatches")
async def create_dispatch(request: web.Request) -> web.Response:
    repo = require_repo(request, "actions", "write")
    body: dict[str, Any] = request[BODY]
    run = dispatch(repo, request.match_info["workflow_id"], body["ref"], body.get("inputs") or {})
    if not body.get("return_run_details"):
        return web.Response(status=204)
    data = run_json(repo, run)
    return web.json_response(
        {"workflow_run_id": run.id, "run_url": data["url"], "html_url": data["html_url"]}
    )


def find_run(request: web.Request, repo: Repo) -> WorkflowRun:
    run = repo.runs.get(int(request.match_info["run_id"]))
    if run is None:
        raise not_found()
    return run


@routes.get(BASE + "/actions/workflows/{workflow_id}/runs")
async def list_workflow_runs(request: web.Request) -> web.Response:
    """List a workflow's runs, newest first, filtered by `event` and `status` as GitHub does."""
    repo = require_repo(request, "actions", "read")
    workflow = request.match_info["workflow_id"]
    path = f".github/workflows/{workflow}"
    event, status = request.query.get("event"), request.query.get("status")
    per_page = int(request.query.get("per_page", "30"))
    runs = [
        r
        for r in sorted(repo.runs.values(), key=lambda r: r.id, reverse=True)
        if r.path == path
        and (event is None or r.event == event)
        and (status is None or status in (r.status, r.conclusion))
    ]
    body = {"total_count": len(runs), "workflow_runs": [run_json(repo, r) for r in runs[:per_page]]}
    return web.json_response(body)


@routes.get(BASE + "/actions/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    repo = require_repo(request, "actions", "read")
    return web.json_response(run_json(repo, find_run(request, repo)))


@routes.post(BASE + "/actions/runs/{run_id}/cancel")
async def cancel_run(request: web.Request) -> web.Response:
    """Cancel a run: 202 while it runs (it ends `cancelled`), 409 once it has completed."""
    repo = require_repo(request, "actions", "write")
    run = find_run(request, repo)
    if run.status == "completed":
        raise GitHubError(409, "Cannot cancel a workflow run that is completed.")
    run.status, run.conclusion = "completed", "cancelled"
    run.jobs = {name: "cancelled" for name in run.jobs} or {"plan": "cancelled"}
    return web.json_response({}, status=202)


@routes.get(BASE + "/actions/runs/{run_id}/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    repo = require_repo(request, "actions", "read")
    run = find_run(request, repo)
    per_page = int(request.query.get("per_page", "30"))
    page = int(request.query.get("page", "1"))
    jobs = [job_json(repo, run, i, n, c) for i, (n, c) in enumerate(run.jobs.items(), 1)]
    shown = jobs[(page - 1) * per_page : page * per_page]
    return web.json_response({"total_count": len(jobs), "jobs": shown})


@routes.get(BASE + "/actions/runs/{run_id}/artifacts")
async def list_artifacts(request: web.Request) -> web.Response:
    repo = require_repo(request, "actions", "read")
    run = find_run(request, repo)
    found = [a for a in run.artifacts if request.query.get("name", a.name) == a.name]
    return web.json_response(
        {"total_count": len(found), "artifacts": [artifact_json(repo, a, run) for a in found]}
    )


@routes.get(BASE + "/actions/artifacts/{artifact_id}/{archive_format}")
async def download(request: web.Request) -> web.Response:
    repo = require_repo(request, "actions", "read")
    wanted = int(request.match_info["artifact_id"])
    artifact = next((a for r in repo.runs.values() for a in r.artifacts if a.id == wanted), None)
    if artifact is None or request.match_info["archive_format"] != "zip":
        raise not_found()
    if artifact.expired or fake_of(request).clock.now() > artifact.created_at + ARTIFACT_TTL:
        raise GitHubError(410, "Artifact has expired")
    fake = fake_of(request)
    key = secrets.token_urlsafe(24)
    fake.blobs[key] = (artifact.data, fake.clock.now() + BLOB_TTL)
    location = f"{fake.blob_url}/{key}?sig={secrets.token_hex(8)}"
    return web.Response(status=302, headers={"Location": location})


@routes.get("/_blobs/{key}")
async def blob(request: web.Request) -> web.Response:
    fake = fake_of(request)
    if "Authorization" in request.headers:
        # Azure blob storage refuses a stray GitHub token, so a leaked header fails loudly.
        return web.Response(status=400, text="AuthenticationFailed: unexpected Authorization")
    found = fake.blobs.get(request.match_info["key"])
    if found is None or found[1] <= fake.clock.now():
        return web.Response(status=403, text="AuthenticationFailed: Signed expiry time has passed")
    return web.Response(body=found[0], content_type="application/zip")
