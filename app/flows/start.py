"""Start audits: on PR changes, on "Re-run" (check run, check suite, button) and on demand.

Handlers only fetch, call the pure plan, and write. Idempotency is checked against GitHub (the
App's `canon-gate` runs on the head SHA), so it holds across restarts and replicas.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

from gidgethub import sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from action.report import STRUCTURE, check_name
from app.edge import checks
from app.edge.actions import DispatchRefused, dispatch, find_dispatched, workflow_inputs
from app.edge.auth import READ_PR, START_AUDIT
from app.edge.context import Context
from app.edge.governs import AtBase, read_at_base
from app.edge.installation import read_grants
from app.edge.repos import get_pull
from app.events import CheckRun, CheckRunEvent, CheckSuiteEvent, PullRequestEvent, Repository
from app.flows.checkset import gates_for, open_companions, post_concluded
from app.judge import outcomes, permissions
from app.judge.checkrun import ACTIVE, RERUN, CheckRunResult
from app.judge.correlate import AuditKey, parse_external_id, trigger_of
from app.judge.merge_queue import is_queue_branch
from app.judge.plan import plan_start
from app.ledger.history import sessions_since

log = logging.getLogger(__name__)
router = Router()

# Plus `edited` when `changes.base` says the PR was retargeted: another base governs it now.
AUDITED_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")


async def start_audit(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    key: AuditKey,
    *,
    rerun: bool = False,
    approved: bool = False,
    installation_id: int | None = None,
) -> int | None:
    """Create (or resume) the check runs and dispatch the workflow; return the check run id.

    The audit is keyed on what governs the PR's base now (the governance key), computed here by
    the App from GitHub; a verdict under any other key never stands for this one. With
    `installation_id`, an installation that lacks what the base's config relies on (the `push`
    event, for `reaudit_on_canon_change`) gets every check `action_required` instead.
    """
    at_base = await read_at_base(gh, repo, key.base_sha, cache=ctx.governs)
    key = replace(key, governance=at_base.key)
    existing = await checks.list_runs(gh, repo, key.head_sha, ctx.github_app.app_id)
    limit = timedelta(seconds=ctx.settings.audit_timeout_seconds)
    plan = plan_start(
        existing,
        pr=key.pr,
        governance=key.governance,
        now=datetime.now(UTC),
        limit=limit,
        rerun=rerun,
        trigger=key.trigger,
        sessions_per_head=at_base.config.limits.sessions_per_head,
    )
    gates = gates_for(at_base.config, key)
    for run in plan.time_out:
        await _conclude_with_gates(gh, ctx, repo, run, outcomes.overdue(limit))
    for run in plan.cancel:
        await _conclude_with_gates(gh, ctx, repo, run, outcomes.superseded(key.head_sha))
    fields = {"delivery_id": ctx.delivery_id, "repo": repo.full_name, "pr": key.pr}
    if plan.skip_reason:
        log.info("audit.skipped", extra={**fields, "reason": plan.skip_reason})
        return None
    refusal = await _refusal(ctx, at_base, installation_id)
    if refusal is None and plan.sessions_spent is not None:
        allowed = at_base.config.limits.sessions_per_head
        refusal = outcomes.session_limit(plan.sessions_spent, allowed)
    cap = at_base.config.limits.daily_sessions
    if refusal is None and cap is not None and plan.resume is None:
        refusal = await _daily_cap(gh, repo, cap)
    if refusal is not None:
        # A repository may require the gates, or the structure check, one by one: each says so.
        refused = await post_concluded(ctx, gh, repo, key, at_base, lambda _: refusal)
        log.info("audit.refused", extra={**fields, "title": refusal.title})
        return refused.id
    run = plan.resume or await checks.create_run(
        gh, repo, key.head_sha, external_id=key.external_id
    )
    fields["check_run_id"] = run.id
    inputs = workflow_inputs(key, run.id, approved=approved)
    workflow = ctx.settings.workflow_file
    earlier = await find_dispatched(gh, repo, workflow, run.id) if plan.resume else None
    companions = partial(
        open_companions, gh, ctx, repo, run, key, at_base, gates, resumed=bool(plan.resume)
    )
    try:
        dispatched = earlier or await dispatch(gh, repo, workflow, inputs)
    except DispatchRefused as exc:
        log.warning("audit.dispatch_refused", extra={**fields, "status": exc.status})
        result = outcomes.setup_required(
            str(exc), workflow_missing=exc.workflow_missing, workflow_file=workflow
        )
        await companions(details_url=None, result=result)
        await checks.conclude(gh, repo, run.id, result)
        return run.id
    # The anchor last: until it is in progress, a failed start is resumed from it.
    await companions(details_url=dispatched.html_url)
    await checks.mark_in_progress(gh, repo, run.id, details_url=dispatched.html_url)
    log.info("audit.dispatched", extra={**fields, "workflow_run_id": dispatched.workflow_run_id})
    return run.id


async def _refusal(
    ctx: Context, at_base: AtBase, installation_id: int | None
) -> CheckRunResult | None:
    """What the installation lacks for the base's config, as the checks' result; None if all is
    there. Asked only of a repository that relies on it."""
    if installation_id is None or not at_base.config.reaudit_on_canon_change.enabled:
        return None
    grants = await read_grants(ctx.github_app, installation_id, deadline=ctx.deadline)
    lacking = permissions.missing(grants.permissions, grants.events, [permissions.CANON_CHANGE])
    if not lacking:
        return None
    return permissions.permissions_required(
        lacking,
        what="re-judging pull requests when the canon changes (reaudit_on_canon_change)",
        installation_url=grants.html_url,
    )


async def _conclude_with_gates(
    gh: GitHubAPI, ctx: Context, repo: Repository, anchor: CheckRun, result: CheckRunResult
) -> None:
    """Conclude a `canon-gate` run and its gates' runs that are still open."""
    await checks.conclude(gh, repo, anchor.id, result)
    for run in await checks.list_all_runs(gh, repo, anchor.head_sha, ctx.github_app.app_id):
        found = parse_external_id(run.external_id)
        if found is not None and found.check == anchor.id and run.status in ACTIVE:
            await checks.conclude(gh, repo, run.id, result)


async def _daily_cap(gh: GitHubAPI, repo: Repository, cap: int) -> CheckRunResult | None:
    """Refuse the session when the repository has started `cap` today (UTC), by its ledger."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    spent = await sessions_since(gh, repo.full_name, midnight)
    if spent < cap:
        return None
    return outcomes.daily_cap(spent, cap, midnight + timedelta(days=1))


async def supersede(
    gh: GitHubAPI, ctx: Context, repo: Repository, old_sha: str, new_sha: str
) -> None:
    """Conclude the active runs of an older push `cancelled`: a newer push replaced them."""
    for run in await checks.list_all_runs(gh, repo, old_sha, ctx.github_app.app_id):
        if run.status in ACTIVE:
            await checks.conclude(gh, repo, run.id, outcomes.superseded(new_sha))


@router.register("pull_request")
async def on_pull_request(event: sansio.Event, ctx: Context) -> None:
    action = event.data.get("action")
    if action not in AUDITED_ACTIONS and action != "edited":
        return
    ev = PullRequestEvent.model_validate(event.data)
    if ev.action == "edited" and (ev.changes is None or ev.changes.base is None):
        return  # a new title or body: nothing that governs changed
    pr = ev.pull_request
    if pr.draft or pr.state != "open":
        # Drafts are audited once they are ready for review.
        log.info("audit.draft_skipped", extra={"delivery_id": ctx.delivery_id, "pr": pr.number})
        return
    gh = await ctx.client(ev.installation.id, ev.repository.id, START_AUDIT)
    key = AuditKey(pr.number, pr.head.sha, pr.base.sha)
    await start_audit(ctx, gh, ev.repository, key, installation_id=ev.installation.id)
    if ev.action == "synchronize" and ev.before and ev.before != pr.head.sha:
        await supersede(gh, ctx, ev.repository, ev.before, pr.head.sha)


@router.register("check_run", action="rerequested")
@router.register("check_run", action="requested_action")
async def on_check_run(event: sansio.Event, ctx: Context) -> None:
    ev = CheckRunEvent.model_validate(event.data)
    if ev.requested_action is not None and ev.requested_action.identifier != RERUN:
        return
    key = parse_external_id(ev.check_run.external_id)
    if key is not None and key.group:
        return  # a merge group's check: app.flows.merge_queue re-runs it
    numbers = [key.pr] if key else [p.number for p in ev.check_run.pull_requests]
    # The request's own identity, not the delivery's: a replayed body under a fresh delivery id
    # finds the run it already made and starts no second paid session.
    button = "button" if ev.requested_action is not None else "rerequest"
    trigger = f"{button}-{ev.check_run.id}"
    # Re-run on a gate's own check run re-runs that gate; on `canon-gate` (or the structural
    # check), every gate.
    own = key is not None and key.gate not in ("", STRUCTURE)
    gate = key.gate if key and own and ev.check_run.name == check_name(key.gate) else ""
    await rerun(
        ctx, ev.repository, ev.installation.id, ev.check_run.head_sha, numbers, trigger, gate=gate
    )


@router.register("check_suite", action="rerequested")
async def on_check_suite(event: sansio.Event, ctx: Context) -> None:
    ev = CheckSuiteEvent.model_validate(event.data)
    if is_queue_branch(ev.check_suite.head_branch):
        return  # a merge group's commit: app.flows.merge_queue re-runs it as a group
    numbers = [p.number for p in ev.check_suite.pull_requests]
    suite = ev.check_suite
    trigger = f"suite-{suite.id}-{suite.updated_at or ctx.delivery_id}"
    await rerun(ctx, ev.repository, ev.installation.id, ev.check_suite.head_sha, numbers, trigger)


async def rerun(
    ctx: Context,
    repo: Repository,
    installation_id: int,
    head_sha: str,
    numbers: list[int],
    trigger: str,
    *,
    gate: str = "",
) -> None:
    """Audit the head SHA again for each PR (one gate, or every gate when `gate` is empty);
    only people with write access can ask for this."""
    gh = await ctx.client(installation_id, repo.id, READ_PR)
    if not numbers:
        # Fork PRs are missing from `pull_requests`: our own runs on the SHA name the PR.
        runs = await checks.list_runs(gh, repo, head_sha, ctx.github_app.app_id)
        keys = [parse_external_id(r.external_id) for r in runs]
        # A merge group's head is re-run by app.flows.merge_queue, as a group.
        numbers = sorted({k.pr for k in keys if k is not None and not k.group})
    if not numbers:
        log.info("audit.rerun_without_pr", extra={"delivery_id": ctx.delivery_id, "sha": head_sha})
        return
    for number in numbers:
        pr = await get_pull(gh, repo, number)
        if pr.state != "open":
            continue
        key = AuditKey(number, head_sha, pr.base.sha, trigger=trigger_of(trigger), gate=gate)
        await start_audit(
            ctx, gh, repo, key, rerun=True, approved=True, installation_id=installation_id
        )
