"""Conclude audits when the workflow run completes: fetch the report, judge it, write it back.

Correlation never guesses: the run's `display_title` names the check run, and the check run's
`details_url` names the one workflow run it waits for. A run started by hand names no check run;
it gets one on the PR head SHA recorded in its report.
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from action.report import Report
from app.edge import checks, metrics
from app.edge.artifacts import ArtifactProblem, UnsupportedSchema, fetch_report
from app.edge.auth import CONCLUDE_AUDIT
from app.edge.context import Context
from app.events import CheckRun, Repository, WorkflowRun, WorkflowRunEvent
from app.flows import governance
from app.flows.start import get_pull
from app.judge import verdict
from app.judge.correlate import AuditKey, check_run_id_of, parse_external_id, workflow_run_id_of

log = logging.getLogger(__name__)
router = Router()

_FAILED_RUN = {
    "failure": "the audit workflow failed before it wrote a report",
    "cancelled": "the audit workflow was cancelled",
    "timed_out": "the audit workflow timed out",
    "startup_failure": "the audit workflow could not start",
    "action_required": "the audit workflow is waiting for approval to run",
    "stale": "the audit workflow went stale",
}


def is_audit_workflow(run: WorkflowRun, workflow_file: str) -> bool:
    return run.path.split("@", 1)[0] == f".github/workflows/{workflow_file}"


def untrusted(run: WorkflowRun, repo: Repository) -> str | None:
    """Say why a run of the audit workflow may not judge, or None when it may.

    Only the workflow as it is on the default branch judges, and only when dispatched: a PR can
    edit its own copy of the file to run on `pull_request` and upload a report of its choosing.
    """
    if run.event != "workflow_dispatch":
        return f"it was started by `{run.event or 'an unknown event'}`, not dispatched"
    if run.head_branch != repo.default_branch:
        return f"it ran the workflow from `{run.head_branch}`, not the default branch"
    if run.head_repository is not None and run.head_repository.id != repo.id:
        return "it ran in another repository"
    return None


@router.register("workflow_run", action="completed")
async def on_workflow_run(event: sansio.Event, ctx: Context) -> None:
    ev = WorkflowRunEvent.model_validate(event.data)
    run, repo = ev.workflow_run, ev.repository
    if not is_audit_workflow(run, ctx.settings.workflow_file):
        return
    fields = {"delivery_id": ctx.delivery_id, "repo": repo.full_name, "workflow_run_id": run.id}
    reason = untrusted(run, repo)
    if reason is not None:
        # Never conclude anything from it, not even a failure: it is not our audit.
        log.warning("completion.untrusted_run", extra={**fields, "reason": reason})
        return
    gh = await ctx.client(ev.installation.id, repo.id, CONCLUDE_AUDIT)
    report: Report | None = None
    problem: str | None = None
    unsupported: UnsupportedSchema | None = None
    try:
        report = await fetch_report(gh, ctx.http, repo, run.id)
    except UnsupportedSchema as exc:
        unsupported, problem = exc, str(exc)
    except ArtifactProblem as exc:
        problem = str(exc)
    if run.conclusion != "success" and report is None:
        # A failed job means the audit could not run: say why the run ended.
        problem = _FAILED_RUN.get(
            run.conclusion or "", f"the audit workflow ended {run.conclusion}"
        )

    check_run = await _check_run_for(gh, ctx, repo, run, report)
    if check_run is None:
        log.warning("completion.uncorrelated", extra={**fields, "problem": problem})
        return
    fields["check_run_id"] = check_run.id
    if check_run.status == "completed":
        log.info("completion.already_concluded", extra=fields)
        return
    if report is not None and not _belongs(report, check_run, run.id):
        problem, report = "the report does not belong to this check run (SHA or id mismatch)", None
    if report is not None and check_run_id_of(run.display_title) is None:
        # A run started by hand chose its own inputs: its base must be on the PR's base branch.
        problem = await manual_base_problem(gh, repo, report)
        report = None if problem else report

    links = verdict.Links(workflow_run_url=run.html_url or None, artifact_url=_artifact_link(run))
    if unsupported is not None:
        version = unsupported.version if isinstance(unsupported.version, int) else -1
        result = verdict.unsupported_schema(version, links=links)
        await checks.conclude(gh, repo, check_run.id, result)
    elif report is None:
        result = verdict.not_evaluated(problem or "the audit produced no report", links=links)
        await checks.conclude(gh, repo, check_run.id, result)
    else:
        result = await governance.conclude_with_report(
            ctx,
            gh,
            repo,
            check_run,
            report,
            workflow_run=run,
            links=links,
            installation_id=ev.installation.id,
        )
    metrics.AUDITS.labels(conclusion=result.conclusion).inc()
    log.info("completion.concluded", extra={**fields, "conclusion": result.conclusion})


def _belongs(report: Report, check_run: CheckRun, workflow_run_id: int) -> bool:
    info = report.run
    if info.head_sha and info.head_sha != check_run.head_sha:
        return False
    key = parse_external_id(check_run.external_id)
    if key is not None and key.base_sha and info.base_sha != key.base_sha:
        # The App chose the governing base when it dispatched; nothing else may choose it.
        return False
    if info.check_run_id is not None and info.check_run_id != check_run.id:
        return False
    return info.workflow_run_id is None or info.workflow_run_id == workflow_run_id


def _artifact_link(run: WorkflowRun) -> str | None:
    return f"{run.html_url}#artifacts" if run.html_url else None


async def _check_run_for(
    gh: GitHubAPI, ctx: Context, repo: Repository, run: WorkflowRun, report: Report | None
) -> CheckRun | None:
    """Find the check run this workflow run reports to, creating one for a manual run."""
    check_run_id = check_run_id_of(run.display_title)
    if check_run_id is not None:
        check_run = await checks.get_run(gh, repo, check_run_id)
        if check_run.app is not None and check_run.app.id != ctx.github_app.app_id:
            return None
        waiting_for = workflow_run_id_of(check_run.details_url)
        if waiting_for is not None and waiting_for != run.id:
            # A duplicate dispatch (two replicas at once): the check run waits for another run.
            return None
        return check_run
    if report is None or report.run.pr is None or not report.run.head_sha:
        # A manual run that wrote no report names no PR head: there is nothing to conclude.
        return None
    key = AuditKey(report.run.pr, report.run.head_sha, report.run.base_sha or "")
    for existing in await checks.list_runs(gh, repo, key.head_sha, ctx.github_app.app_id):
        if workflow_run_id_of(existing.details_url) == run.id:
            return existing
    return await checks.create_run(
        gh,
        repo,
        key.head_sha,
        external_id=key.external_id,
        status="in_progress",
        details_url=run.html_url or None,
    )


async def manual_base_problem(gh: GitHubAPI, repo: Repository, report: Report) -> str | None:
    """Check that a manual run's governing base is on the PR's base branch; say why not."""
    info = report.run
    if info.pr is None or not info.base_sha:
        return "the report of a manual run names no PR or no base commit"
    pr = await get_pull(gh, repo, info.pr)
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/compare/{basehead}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "basehead": f"{info.base_sha}...{pr.base.sha}",
        },
    )
    if data.get("status") in ("identical", "ahead"):
        return None
    return (
        f"the manual run was governed by {info.base_sha[:7]}, which is not on the PR's base branch "
        f"`{pr.base.ref}`: config and canon must come from the base branch"
    )
