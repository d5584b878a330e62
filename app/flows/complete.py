"""Conclude audits when the workflow run completes: fetch, call `judge.conclude` once, write.

Correlation never guesses: the run's `display_title` names the check run, and the check run's
`details_url` names the one workflow run it waits for. A run started by hand names no check run;
it gets one on the PR head SHA recorded in its report.
"""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import BadRequest, sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from action.report import (
    DEFAULT_GATE,
    Report,
    check_name,
)
from app.edge import checks, metrics
from app.edge.actions import job_conclusions
from app.edge.artifacts import list_artifacts
from app.edge.auth import CONCLUDE_AUDIT
from app.edge.context import Context
from app.edge.governs import read_at_base
from app.edge.repos import get_pull
from app.events import CheckRun, Repository, WorkflowRun, WorkflowRunEvent
from app.flows.completion import (
    Completion,
    Reports,
    conclude_gate,
    gate_runs,
    offer_fixes,
    post_structure,
)
from app.flows.conjunction import post_conjunction
from app.flows.gates import conclude_aggregate
from app.flows.governance import read_governance
from app.judge.artifact import ArtifactProblem
from app.judge.checkrun import CHECK_NAME
from app.judge.conclude import (
    Governance,
    PullNow,
)
from app.judge.correlate import (
    AuditKey,
    branch_problem,
    check_run_id_of,
    is_audit_workflow,
    parse_external_id,
    untrusted,
    workflow_run_id_of,
)
from app.judge.gates import gates_of
from app.judge.links import Links

log = logging.getLogger(__name__)


router = Router()


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
    listed = await list_artifacts(gh, repo, run.id)
    manual = check_run_id_of(run.display_title) is None
    if manual and (problem := await _branch_problem(gh, repo, run, manual=True)):
        log.warning("completion.untrusted_run", extra={**fields, "reason": problem})
        return
    reports = Reports(gh, ctx, listed)
    # A manual run names no check run: its first report (any gate's) names the PR and head.
    named_by = await reports.first() if manual else None
    check_run = await _check_run_for(gh, ctx, repo, run, named_by)
    if check_run is None:
        log.warning("completion.uncorrelated", extra=fields)
        return
    fields["check_run_id"] = check_run.id
    if check_run.status == "completed":
        log.info("completion.already_concluded", extra=fields)
        return
    # A run the App's dispatch did not name (an older GHES): prove it ran the default branch.
    unnamed = not manual and workflow_run_id_of(check_run.details_url) != run.id
    if unnamed and (problem := await _branch_problem(gh, repo, run, manual=False)):
        log.warning("completion.untrusted_run", extra={**fields, "reason": problem})
        return
    key = parse_external_id(check_run.external_id) or AuditKey(0, check_run.head_sha)
    governance, pull = Governance(), None
    pr = key.pr or None
    if key.base_sha:
        # What governed the audit's base, and what governs the PR now: both computed here.
        try:
            governance = await read_governance(
                gh, repo, pr, key.base_sha, ctx.github_app.seal, cache=ctx.governs
            )
        except BadRequest as exc:
            if int(exc.status_code) not in (404, 422):
                raise
            # A base GitHub does not know: no key, so no report can judge.
            log.warning("completion.unknown_base", extra={**fields, "base_sha": key.base_sha})
    if key.group:
        # A merge group is judged as it is: its head against its base, nothing newer.
        pull = _group_now(key, governance)
    elif pr is not None:
        pull = await pull_now(gh, ctx, repo, pr)
    links = Links(workflow_run_url=run.html_url or None, artifact_url=_artifact_link(run))
    done = Completion(
        ctx, gh, repo, run, check_run, key, governance, pull, links, ev.installation.id
    )
    jobs = await job_conclusions(gh, repo, run.id)
    config = governance.config
    gates = gates_of(config)
    judged: list[str] = []  # the gates a usable report judged: their fixes are offered last
    if not config.gates:
        # One gate: `canon-gate` is its own check run.
        outcome, usable = await conclude_gate(done, reports, jobs, DEFAULT_GATE, check_run)
        if usable:
            judged.append(DEFAULT_GATE)
        result = outcome.result
        await post_structure(
            done,
            reports,
            jobs,
            audit=(result.conclusion, result.title),
            fallback=outcome if usable else None,
        )
        conclusion: str = outcome.result.conclusion
    else:
        wanted = (key.gate,) if key.gate else gates
        mine = await gate_runs(done, wanted)
        for gate in wanted:
            if mine[gate].status != "completed":
                _, usable = await conclude_gate(done, reports, jobs, gate, mine[gate])
                if usable:
                    judged.append(gate)
        conclusion = await conclude_aggregate(
            ctx,
            gh,
            repo,
            key,
            governance,
            cause=f"run{check_run.id}",
            anchor_id=check_run.id,
            links=links,
        )
        said = f"`{CHECK_NAME}` concluded {conclusion}"
        await post_structure(done, reports, jobs, audit=(conclusion, said))
    for name in (CHECK_NAME, *(check_name(g) for g in (config.gates and gates) or ())):
        await post_conjunction(
            ctx, gh, repo, check_run.head_sha, after=check_run.id, links=links, name=name
        )
    await offer_fixes(done, reports, judged)
    metrics.AUDITS.labels(conclusion=conclusion).inc()
    log.info("completion.concluded", extra={**fields, "conclusion": conclusion})


async def _branch_problem(
    gh: GitHubAPI, repo: Repository, run: WorkflowRun, *, manual: bool
) -> str | None:
    """Read the default branch's tip (and, for a dispatched run, whether the run's commit is on
    it), then ask `judge.correlate.branch_problem`."""
    ref: Any = await gh.getitem(
        "/repos/{owner}/{repo}/git/ref/heads/{branch}",
        url_vars={"owner": repo.owner, "repo": repo.name, "branch": repo.default_branch},
    )
    tip = str(ref["object"]["sha"])
    on_branch = True
    if not manual and run.head_sha != tip:
        compared: Any = await gh.getitem(
            "/repos/{owner}/{repo}/compare/{basehead}",
            url_vars={
                "owner": repo.owner,
                "repo": repo.name,
                "basehead": f"{run.head_sha}...{tip}",
            },
        )
        on_branch = compared.get("status") in ("identical", "ahead")
    return branch_problem(run, manual=manual, default_tip=tip, on_default_branch=on_branch)


def _artifact_link(run: WorkflowRun) -> str | None:
    return f"{run.html_url}#artifacts" if run.html_url else None


async def _check_run_for(
    gh: GitHubAPI,
    ctx: Context,
    repo: Repository,
    run: WorkflowRun,
    report: Report | ArtifactProblem | None,
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
    if not isinstance(report, Report) or report.run.pr is None or not report.run.head_sha:
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


def _group_now(key: AuditKey, governance: Governance) -> PullNow:
    """A merge group as its audit judges it: the group's own head under its base's governance."""
    return PullNow(
        head_sha=key.head_sha,
        base_ref="the merge group's base",
        key=governance.key,
        governs=governance.governs,
    )


async def pull_now(gh: GitHubAPI, ctx: Context, repo: Repository, number: int) -> PullNow:
    """The PR's head now, and the governance key of its base tip now."""
    pull = await get_pull(gh, repo, number)
    at_base = await read_at_base(gh, repo, pull.base.sha, cache=ctx.governs)
    return PullNow(
        head_sha=pull.head.sha, base_ref=pull.base.ref, key=at_base.key, governs=at_base.governs
    )
