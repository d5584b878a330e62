"""Merge queues: a merge group gets the checks a pull request gets, on its own head, always
concluded (`app.judge.merge_queue` decides what they say).

`checks_requested` reuses the pull request's verdict when nothing that governs it changed (the
default policy), or audits the group's own change; `destroyed` stops whatever still runs for the
group. A re-run of a group's check audits the group again while it exists. Every path ends in a
conclusion: the queue must never wait on canon-gate past the audit's own time limit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gidgethub import BadRequest, sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from action.report import DEFAULT_GATE, STRUCTURE, check_name
from app.edge import checks
from app.edge.actions import cancel_run
from app.edge.auth import READ_PR
from app.edge.context import Context
from app.edge.errors import is_transient
from app.edge.governs import AtBase, read_at_base
from app.edge.installation import read_grants
from app.edge.repos import get_pull
from app.events import CheckRunEvent, CheckSuiteEvent, MergeGroupEvent, Repository
from app.flows.checkset import post_concluded
from app.flows.start import start_audit
from app.judge import merge_queue, outcomes, permissions
from app.judge.checkrun import ACTIVE, RERUN, CheckRunResult
from app.judge.correlate import AuditKey, parse_external_id, trigger_of, workflow_run_id_of
from app.judge.gates import gates_of
from app.ledger import store
from app.ledger.history import read_history
from app.ledger.records import record_path

log = logging.getLogger(__name__)
router = Router()


@router.register("merge_group", action="checks_requested")
async def on_checks_requested(event: sansio.Event, ctx: Context) -> None:
    ev = MergeGroupEvent.model_validate(event.data)
    repo, group = ev.repository, ev.merge_group
    gh = await ctx.client(ev.installation.id, repo.id, READ_PR)
    at_base = await read_at_base(gh, repo, group.base_sha, cache=ctx.governs)
    pr = merge_queue.pr_of_group(group.head_ref)
    key = AuditKey(
        pr or 0, group.head_sha, group.base_sha, governance=at_base.key, group=group.head_ref
    )
    fields = {"delivery_id": ctx.delivery_id, "repo": repo.full_name, "group": group.head_ref}
    if pr is None:
        # No pull request to reuse a verdict or waivers from: say so, on every check.
        unknown = merge_queue.unknown_pull(group.head_ref)
        await post_concluded(ctx, gh, repo, key, at_base, lambda _: unknown)
        log.warning("merge_group.unknown_pull", extra=fields)
        return
    if at_base.config.merge_queue == "reuse" and await _reuse(ctx, gh, repo, key, at_base):
        log.info("merge_group.reused", extra={**fields, "pr": pr})
        return
    await _audit(ctx, gh, repo, key, at_base)


async def _reuse(
    ctx: Context, gh: GitHubAPI, repo: Repository, key: AuditKey, at_base: AtBase
) -> bool:
    """Conclude the group's checks from the pull request's verdicts, if they may stand for it."""
    try:
        pull = await get_pull(gh, repo, key.pr)
    except BadRequest as exc:
        if int(exc.status_code) != 404:
            raise
        return False  # no such pull request to reuse from: audit the group's own change
    gates = gates_of(at_base.config)
    runs = await checks.list_all_runs(gh, repo, pull.head.sha, ctx.github_app.app_id)
    keys = {gate: at_base.key_for(gate) for gate in gates}
    decision = merge_queue.reuse(runs, gates, pr=key.pr, keys=keys, structure_key=at_base.key)
    if decision.reason is not None:
        log.info(
            "merge_group.not_reused",
            extra={"repo": repo.full_name, "pr": key.pr, "reason": decision.reason},
        )
        return False
    cited = await _ledger_links(ctx, gh, repo, key.pr, pull.head.sha, decision.reused, keys)
    by_gate = {item.gate: item for item in decision.reused}

    def result_of(name: str) -> CheckRunResult:
        if name == DEFAULT_GATE and at_base.config.gates:
            return merge_queue.reused_aggregate(decision.reused, pr=key.pr)
        item = by_gate[name]
        return merge_queue.reused_result(
            item, pr=key.pr, head_sha=pull.head.sha, record_url=cited.get(item.gate)
        )

    await post_concluded(ctx, gh, repo, key, at_base, result_of)
    return True


async def _ledger_links(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    pr: int,
    head_sha: str,
    reused: Sequence[merge_queue.Reused],
    keys: dict[str, str],
) -> dict[str, str]:
    """Each reused gate's ledger record on the web, when the ledger holds it (by gate)."""
    try:
        history = await read_history(gh, repo.full_name, pr, ctx.github_app.seal)
    except store.LedgerError:
        return {}  # the verdicts stand on their check runs; the ledger is only cited
    base = f"{ctx.settings.github_web_url.rstrip('/')}/{repo.full_name}/blob/{store.BRANCH}"
    links = {}
    for item in reused:
        if item.gate == STRUCTURE:
            continue
        record = next(
            (
                a
                for a in history.audits
                if a.check_run_id == item.run.id
                or (
                    a.report.run.gate == item.gate
                    and a.head_sha == head_sha
                    and a.governance_key == keys.get(item.gate)
                )
            ),
            None,
        )
        if record is not None:
            links[item.gate] = f"{base}/{record_path(record)}"
    return links


async def _audit(
    ctx: Context, gh: GitHubAPI, repo: Repository, key: AuditKey, at_base: AtBase
) -> None:
    """Audit the group's own change; a start GitHub refuses for now still ends in a conclusion."""
    try:
        await start_audit(ctx, gh, repo, key)
    except Exception as exc:
        if not is_transient(exc):
            raise
        # Rate limited, or GitHub failing: the queue must not wait for a redelivery that may
        # never come. If even this fails, the delivery is answered 5xx and replayed.
        result = outcomes.not_evaluated(
            "GitHub did not let canon-gate start the merge group's audit",
            detail=f"{type(exc).__name__}: {exc}",
        )
        try:
            await post_concluded(ctx, gh, repo, key, at_base, lambda _: result)
        except Exception:
            raise exc from None
        log.warning("merge_group.start_failed", extra={"repo": repo.full_name, "group": key.group})


@router.register("merge_group", action="destroyed")
async def on_destroyed(event: sansio.Event, ctx: Context) -> None:
    """Stop the group's workflow run and conclude its open checks `cancelled`; start nothing."""
    ev = MergeGroupEvent.model_validate(event.data)
    repo, group = ev.repository, ev.merge_group
    gh = await ctx.client(ev.installation.id, repo.id, READ_PR)
    runs = await checks.list_all_runs(gh, repo, group.head_sha, ctx.github_app.app_id)
    active = [
        run
        for run in runs
        if run.status in ACTIVE
        and (key := parse_external_id(run.external_id)) is not None
        and key.group == group.head_ref
    ]
    workflow_runs = sorted({i for r in active if (i := workflow_run_id_of(r.details_url))})
    cancelled = [i for i in workflow_runs if await cancel_run(gh, repo, i)]
    ended = merge_queue.group_ended(ev.reason)
    for run in active:
        await checks.conclude(gh, repo, run.id, ended)
    log.info(
        "merge_group.destroyed",
        extra={
            "repo": repo.full_name,
            "group": group.head_ref,
            "reason": ev.reason,
            "concluded": len(active),
            "workflow_runs_cancelled": len(cancelled),
        },
    )


@router.register("check_run", action="rerequested")
@router.register("check_run", action="requested_action")
async def on_group_rerun(event: sansio.Event, ctx: Context) -> None:
    """Re-run on a group's check: audit the group again (one gate, for a gate's own run)."""
    ev = CheckRunEvent.model_validate(event.data)
    if ev.requested_action is not None and ev.requested_action.identifier != RERUN:
        return
    key = parse_external_id(ev.check_run.external_id)
    if key is None or not key.group:
        return  # a pull request's check: app.flows.start re-runs it
    button = "button" if ev.requested_action is not None else "rerequest"
    own = key.gate not in ("", STRUCTURE) and ev.check_run.name == check_name(key.gate)
    await _rerun(ctx, ev.repository, ev.installation.id, key, f"{button}-{ev.check_run.id}", own)


@router.register("check_suite", action="rerequested")
async def on_group_suite(event: sansio.Event, ctx: Context) -> None:
    """ "Re-run all checks" on a group's commit: audit the group again."""
    ev = CheckSuiteEvent.model_validate(event.data)
    if not merge_queue.is_queue_branch(ev.check_suite.head_branch):
        return
    gh = await ctx.client(ev.installation.id, ev.repository.id, READ_PR)
    runs = await checks.list_runs(gh, ev.repository, ev.check_suite.head_sha, ctx.github_app.app_id)
    keys = [k for r in runs if (k := parse_external_id(r.external_id)) and k.group]
    if keys:
        suite = ev.check_suite
        trigger = f"suite-{suite.id}-{suite.updated_at or ctx.delivery_id}"
        await _rerun(ctx, ev.repository, ev.installation.id, keys[0], trigger, own=False)


async def _rerun(
    ctx: Context, repo: Repository, installation_id: int, key: AuditKey, trigger: str, own: bool
) -> None:
    gh = await ctx.client(installation_id, repo.id, READ_PR)
    fields = {"delivery_id": ctx.delivery_id, "repo": repo.full_name, "group": key.group}
    if not key.pr or not await _group_exists(gh, repo, key.group):
        # The queue destroyed the group (or it names no pull request): nothing to re-judge.
        log.info("merge_group.rerun_refused", extra=fields)
        return
    again = AuditKey(
        key.pr,
        key.head_sha,
        key.base_sha,
        trigger=trigger_of(trigger),
        gate=key.gate if own else "",
        group=key.group,
    )
    await start_audit(ctx, gh, repo, again, rerun=True)


async def _group_exists(gh: GitHubAPI, repo: Repository, head_ref: str) -> bool:
    """Whether the group's branch is still there (the queue deletes it with the group)."""
    try:
        data: Any = await gh.getitem(
            "/repos/{owner}/{repo}/git/ref/{+ref}",
            url_vars={
                "owner": repo.owner,
                "repo": repo.name,
                "ref": head_ref.removeprefix("refs/"),
            },
        )
    except BadRequest as exc:
        if int(exc.status_code) == 404:
            return False
        raise
    return bool(data)


@router.register("check_suite", action="requested")
async def on_queue_suite(event: sansio.Event, ctx: Context) -> None:
    """A merge group's commit on an installation that gets no `merge_group`: fail its checks
    visibly, with how to grant it, instead of leaving the queue to time out."""
    ev = CheckSuiteEvent.model_validate(event.data)
    branch = ev.check_suite.head_branch
    if not merge_queue.is_queue_branch(branch):
        return
    grants = await read_grants(ctx.github_app, ev.installation.id, deadline=ctx.deadline)
    lacking = permissions.missing(grants.permissions, grants.events, [permissions.MERGE_QUEUE])
    if not lacking:
        return  # `merge_group.checks_requested` comes too, and does the work
    repo = ev.repository
    gh = await ctx.client(ev.installation.id, repo.id, READ_PR)
    ref: Any = await gh.getitem(
        "/repos/{owner}/{repo}/git/ref/heads/{+branch}",
        url_vars={"owner": repo.owner, "repo": repo.name, "branch": repo.default_branch},
    )
    # The default branch's config names the gates whose checks the group must get.
    at_base = await read_at_base(gh, repo, str(ref["object"]["sha"]), cache=ctx.governs)
    head_ref = f"refs/heads/{str(branch).removeprefix('refs/heads/')}"
    key = AuditKey(
        merge_queue.pr_of_group(head_ref) or 0,
        ev.check_suite.head_sha,
        governance=at_base.key,
        group=head_ref,
    )
    result = permissions.permissions_required(
        lacking, what="this merge group", installation_url=grants.html_url
    )
    await post_concluded(ctx, gh, repo, key, at_base, lambda _: result)
    log.warning(
        "merge_group.permission_missing",
        extra={"repo": repo.full_name, "missing": "; ".join(m.describe() for m in lacking)},
    )
