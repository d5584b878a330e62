"""Conclude audits when the workflow run completes: fetch, call `judge.conclude` once, write.

Correlation never guesses: the run's `display_title` names the check run, and the check run's
`details_url` names the one workflow run it waits for. A run started by hand names no check run;
it gets one on the PR head SHA recorded in its report.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from gidgethub import BadRequest, sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from action.report import Report
from app.edge import checks, metrics
from app.edge.artifacts import fetch_report
from app.edge.auth import COMMENT, CONCLUDE_AUDIT
from app.edge.context import Context
from app.edge.conversation import upsert_comment
from app.edge.governs import read_at_base
from app.edge.repos import get_pull
from app.events import CheckRun, Repository, WorkflowRun, WorkflowRunEvent
from app.flows.conjunction import post_conjunction
from app.flows.governance import read_governance
from app.judge.artifact import ArtifactProblem
from app.judge.checkrun import STRUCTURE_CHECK_NAME
from app.judge.conclude import Finished, Governance, Outcome, PullNow, conclude
from app.judge.correlate import (
    AuditKey,
    branch_problem,
    check_run_id_of,
    is_audit_workflow,
    parse_external_id,
    untrusted,
    workflow_run_id_of,
)
from app.judge.links import Links
from app.ledger import store

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
    report: Report | ArtifactProblem
    try:
        report = await fetch_report(gh, ctx.http, repo, run.id)
    except ArtifactProblem as exc:
        report = exc
    manual = check_run_id_of(run.display_title) is None
    if manual and (problem := await _branch_problem(gh, repo, run, manual=True)):
        log.warning("completion.untrusted_run", extra={**fields, "reason": problem})
        return
    check_run = await _check_run_for(gh, ctx, repo, run, report)
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
    governance, pull = Governance(), None
    pr: int | None = None
    base_sha = ""
    if isinstance(report, Report) and run.conclusion == "success":
        # What governed the report's base, and what governs the PR now: both computed here.
        key = parse_external_id(check_run.external_id)
        pr = report.run.pr or (key.pr if key else None)
        base_sha = report.run.base_sha or (key.base_sha if key else "")
        if base_sha:
            try:
                governance = await read_governance(
                    gh, repo, pr, base_sha, ctx.github_app.seal, cache=ctx.governs
                )
            except BadRequest as exc:
                if int(exc.status_code) not in (404, 422):
                    raise
                # A base GitHub does not know: no key, so the report cannot judge.
                log.warning("completion.unknown_base", extra={**fields, "base_sha": base_sha})
        if pr is not None:
            pull = await pull_now(gh, ctx, repo, pr)
    links = Links(workflow_run_url=run.html_url or None, artifact_url=_artifact_link(run))
    finished = Finished(repo, run, check_run, report, pull)
    outcome = conclude(finished, governance, links, workflow_file=ctx.settings.workflow_file)

    again: Callable[[], Awaitable[Outcome]] | None = None
    if governance.history is not None and pr is not None:
        read_pr, read_base = pr, base_sha

        async def again() -> Outcome:
            # The ledger moved between our read and our write (a waiver, most likely): judge
            # again with what it holds now, so a waiver recorded meanwhile counts.
            now = await read_governance(
                gh, repo, read_pr, read_base, ctx.github_app.seal, cache=ctx.governs
            )
            return conclude(finished, now, links, workflow_file=ctx.settings.workflow_file)

    await write(
        ctx,
        gh,
        finished,
        outcome,
        installation_id=ev.installation.id,
        again=again,
        seen_tip=governance.history.tip if governance.history is not None else None,
    )
    await post_conjunction(ctx, gh, repo, check_run.head_sha, after=check_run.id, links=links)
    metrics.AUDITS.labels(conclusion=outcome.result.conclusion).inc()
    log.info("completion.concluded", extra={**fields, "conclusion": outcome.result.conclusion})


async def write(
    ctx: Context,
    gh: GitHubAPI,
    finished: Finished,
    outcome: Outcome,
    *,
    installation_id: int,
    again: Callable[[], Awaitable[Outcome]] | None = None,
    seen_tip: str | None = None,
) -> None:
    """Write an outcome: the ledger record, the structure run, the verdict, then the comment.

    The verdict was judged with the ledger at `seen_tip`. When the record's commit lands on a
    different parent, someone wrote in between (a waiver racing this completion) and `again`
    judges anew; the new record is already in, so only the verdict and comment are redone.
    """
    repo, check_run = finished.repo, finished.check_run
    result = outcome.result
    if outcome.record is not None:
        try:
            commit = await store.write_record(
                gh, repo.full_name, outcome.record, ctx.github_app.seal
            )
        except store.LedgerError as exc:
            # The verdict stands; the summary says the record is missing and why. No loop.
            log.warning("ledger.write_refused", extra={"repo": repo.full_name})
            result = result.with_note(f"The ledger record could not be written: {exc}")
        else:
            if again is not None and commit.parent != seen_tip:
                log.info("ledger.moved", extra={"repo": repo.full_name, "sha": commit.sha})
                moved = await again()
                outcome = replace(outcome, result=moved.result, comment=moved.comment)
                result = moved.result
    if outcome.structure is not None:
        # Its own check run, posted once (even across redeliveries), before the verdict.
        await checks.ensure_concluded(
            gh,
            repo,
            check_run.head_sha,
            outcome.structure,
            app_id=ctx.github_app.app_id,
            external_id=f"{check_run.external_id}:check={check_run.id}",
            name=STRUCTURE_CHECK_NAME,
            details_url=finished.workflow_run.html_url or None,
        )
    await checks.conclude(
        gh, repo, check_run.id, result, already=check_run.output.annotations_count
    )
    if outcome.comment is not None and outcome.pr is not None:
        # Its own token: only this optional step may write to the PR's conversation.
        commenter = await ctx.client(installation_id, repo.id, COMMENT)
        slug = await ctx.github_app.slug(deadline=ctx.deadline)
        await upsert_comment(commenter, repo, outcome.pr, outcome.comment, app_slug=slug)


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
    report: Report | ArtifactProblem,
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


async def pull_now(gh: GitHubAPI, ctx: Context, repo: Repository, number: int) -> PullNow:
    """The PR's head now, and the governance key of its base tip now."""
    pull = await get_pull(gh, repo, number)
    at_base = await read_at_base(gh, repo, pull.base.sha, cache=ctx.governs)
    return PullNow(head_sha=pull.head.sha, base_ref=pull.base.ref, key=at_base.key)
