"""Start the audit workflow in the client's repository with `workflow_dispatch`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from action.errors import CanonGateError
from app.edge.errors import is_transient
from app.events import Repository
from app.judge.correlate import AuditKey, check_run_id_of


class DispatchRefused(CanonGateError):
    """GitHub would not start the workflow: missing file (404) or bad inputs/ref (422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def workflow_missing(self) -> bool:
        return self.status == 404


@dataclass(frozen=True)
class DispatchedRun:
    workflow_run_id: int | None
    html_url: str | None


def workflow_inputs(key: AuditKey, check_run_id: int, *, approved: bool = False) -> dict[str, str]:
    """The inputs the audit workflow declares; every value is a string, as GitHub requires."""
    inputs = {
        "pr": str(key.pr),
        "head_sha": key.head_sha,
        "base_sha": key.base_sha,
        "check_run_id": str(check_run_id),
    }
    if approved:
        inputs["approved"] = "true"
    if key.gate:
        # A re-run of one gate: the workflow runs the plan and that gate's job only.
        inputs["gate"] = key.gate
    if key.group:
        # A merge group: the runner audits head_sha against base_sha exactly as given, for the
        # pull request `pr` the group adds.
        inputs["group"] = key.group
    return inputs


async def dispatch(
    gh: GitHubAPI,
    repo: Repository,
    workflow_file: str,
    inputs: dict[str, str],
) -> DispatchedRun:
    """Dispatch on the default branch, so the PR cannot change the workflow that judges it.

    The ref is the branch's full name: a tag named like the default branch must never be the
    one that runs. `return_run_details` (github.com since 2026-02-19) names the run, so only that
    run may judge; a server that refuses the parameter (an older GitHub Enterprise Server) is
    asked again without it, and the run is then found by its title.
    """
    url_vars = {"owner": repo.owner, "repo": repo.name, "workflow": workflow_file}
    body: dict[str, Any] = {
        "ref": f"refs/heads/{repo.default_branch}",
        "inputs": inputs,
        "return_run_details": True,
    }
    try:
        # https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
        try:
            data: Any = await gh.post(
                "/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches",
                url_vars=url_vars,
                data=body,
            )
        except BadRequest as exc:
            if int(exc.status_code) not in (400, 422) or "return_run_details" not in str(exc):
                raise
            del body["return_run_details"]
            data = await gh.post(
                "/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches",
                url_vars=url_vars,
                data=body,
            )
    except BadRequest as exc:
        if is_transient(exc):
            raise  # a rate limit: the delivery is answered 5xx and replayed
        # 404: no workflow file on the default branch; 422: bad inputs or ref; 403: Actions off
        # or a permission missing. The check run must say so, not stay queued.
        status = int(exc.status_code)
        raise DispatchRefused(status, str(exc) or exc.status_code.phrase) from exc
    if not isinstance(data, dict):
        # A server without `return_run_details` answers 204: the run is found by its title.
        return DispatchedRun(None, None)
    return DispatchedRun(int(data["workflow_run_id"]), str(data.get("html_url") or "") or None)


async def find_dispatched(
    gh: GitHubAPI, repo: Repository, workflow_file: str, check_run_id: int
) -> DispatchedRun | None:
    """Find a run already dispatched for this check run (its `run-name` carries the id).

    Asked only when resuming a queued check run: the dispatch may have gone through before the
    App lost track of it, and each dispatch is a paid agent session.
    """
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/actions/workflows/{workflow}/runs{?event,per_page}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "workflow": workflow_file,
            "event": "workflow_dispatch",
            "per_page": "50",
        },
    )
    for run in data.get("workflow_runs", []):
        if check_run_id_of(str(run.get("display_title") or "")) == check_run_id:
            return DispatchedRun(int(run["id"]), str(run.get("html_url") or "") or None)
    return None


async def job_conclusions(
    gh: GitHubAPI, repo: Repository, workflow_run_id: int
) -> dict[str, str | None]:
    """The conclusion of each job of the run's latest attempt, by job name (None: unfinished).

    Only a gate's own job may judge it: one gate's failed job must not pass or fail another.
    A run has a job per gate plus two; a page of 100 holds any config GitHub's matrix allows.
    """
    # https://docs.github.com/en/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs{?filter,per_page}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "run_id": str(workflow_run_id),
            "filter": "latest",
            "per_page": "100",
        },
    )
    jobs: dict[str, str | None] = {}
    for job in data.get("jobs", []):
        name = str(job.get("name") or "")
        conclusion = job.get("conclusion")
        # Two jobs of one name (a caller that reuses a name): the worse one counts.
        if name in jobs and jobs[name] != "success":
            continue
        jobs[name] = str(conclusion) if conclusion else None
    return jobs


async def cancel_run(gh: GitHubAPI, repo: Repository, workflow_run_id: int) -> bool:
    """Ask GitHub to cancel a workflow run; False when it had finished already (409)."""
    # https://docs.github.com/en/rest/actions/workflow-runs#cancel-a-workflow-run
    try:
        await gh.post(
            "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel",
            url_vars={"owner": repo.owner, "repo": repo.name, "run_id": str(workflow_run_id)},
            data=b"",
        )
    except BadRequest as exc:
        if int(exc.status_code) in (404, 409):
            return False  # finished (409) or gone (404): nothing left to stop
        raise
    return True
