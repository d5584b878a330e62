"""PR comment commands: waive and unwaive (a finding), approve (a fork PR's head), rerun, help.

Who may do what is asked of GitHub (the commenter's permission, the PR's author), never read from
the comment. A waiver or unwaiver is recorded in the ledger; when the latest recorded audit
judged the PR's current head under what governs its base now, and no audit of the head is
running, the verdict is recomputed from it without a new session and posted as a new
`canon-gate` check run: the newest run of a name is the one branch protection reads, and
annotations on the old one cannot be removed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gidgethub import sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from action.config import AppConfig, Waivers
from action.report import DEFAULT_GATE, Finding, check_name
from app.edge import checks
from app.edge.auth import COMMANDS
from app.edge.context import Context
from app.edge.conversation import react, reply
from app.edge.repos import get_pull, permission_of
from app.events import IssueCommentEvent, PullRequest, Repository
from app.flows.gates import conclude_aggregate
from app.flows.governance import read_governance
from app.flows.start import start_audit
from app.judge import commands, grants, outcomes, replies, verdict
from app.judge.checkrun import CheckRunResult
from app.judge.conclude import Governance
from app.judge.correlate import AuditKey, trigger_of
from app.judge.lifecycle import compare
from app.ledger import records, store
from app.ledger.waivers import Unwaiver, Waiver

log = logging.getLogger(__name__)
router = Router()


@router.register("issue_comment")
async def on_comment(event: sansio.Event, ctx: Context) -> None:
    ev = IssueCommentEvent.model_validate(event.data)
    command = commands.parse_command(ev.comment.body)
    if command is None or grants.is_bot(
        ev.comment.user.login, ev.comment.user.type, ctx.settings.github_app_slug
    ):
        return
    repo, number = ev.repository, ev.issue.number
    gh = await ctx.client(ev.installation.id, repo.id, COMMANDS)
    on_pr = ev.issue.pull_request is not None
    help_asked = ev.action == "created" and isinstance(command, commands.Help)
    needs_permission = on_pr and not help_asked
    comment_ctx = grants.CommentContext(
        action=ev.action or "created",
        on_pull_request=on_pr,
        sender_login=ev.comment.user.login,
        sender_type=ev.comment.user.type,
        permission=await permission_of(gh, repo, ev.comment.user.login)
        if needs_permission
        else None,
        app_slug=ctx.settings.github_app_slug,
    )
    decision = grants.check_command(comment_ctx, command)
    fields = {"delivery_id": ctx.delivery_id, "repo": repo.full_name, "pr": number}
    log.info("command.decided", extra={**fields, "decision": type(decision).__name__})
    if isinstance(decision, grants.Ignored):
        return
    if isinstance(decision, grants.Refused):
        await reply(gh, repo, number, decision.reply)
    elif isinstance(command, commands.Help):
        await _help(ctx, gh, repo, number, on_pr=on_pr)
    elif isinstance(command, commands.Waive | commands.Unwaive):
        await _change_waiver(ctx, gh, repo, ev, command, decision)
    elif isinstance(command, commands.Approve | commands.Rerun):
        await _start(ctx, gh, repo, ev, command, decision)


async def _help(ctx: Context, gh: GitHubAPI, repo: Repository, number: int, *, on_pr: bool) -> None:
    """Answer help; on a PR whose ledger is on, list its waivers in force."""
    in_force = None
    if on_pr:
        governance = await _governance(ctx, gh, repo, await get_pull(gh, repo, number))
        if governance.history is not None:
            in_force = governance.history.waivers_in_force()
    await reply(gh, repo, number, replies.help_reply(in_force))


async def _governance(
    ctx: Context, gh: GitHubAPI, repo: Repository, pull: PullRequest
) -> Governance:
    """What governs the PR now: its base tip's config and key, and its ledger history."""
    return await read_governance(
        gh, repo, pull.number, pull.base.sha, ctx.github_app.seal, cache=ctx.governs
    )


async def _start(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    ev: IssueCommentEvent,
    command: commands.Approve | commands.Rerun,
    decision: grants.Decision,
) -> None:
    """Audit the PR's current head again; only `approve` of that very head is a fork's go-ahead.

    `rerun` never approves: a head pushed between a maintainer's review and their comment must
    not ride on it, so a fork PR that requires approval stays awaiting it.
    """
    number = ev.issue.number
    pull = await get_pull(gh, repo, number)
    if isinstance(command, commands.Approve):
        decision = grants.check_approval(decision, command, pull.head.sha)
    if isinstance(decision, grants.Refused):
        await reply(gh, repo, number, decision.reply)
        return
    key = AuditKey(number, pull.head.sha, pull.base.sha, trigger=trigger_of(ctx.delivery_id))
    approved = isinstance(command, commands.Approve)
    started = await start_audit(ctx, gh, repo, key, rerun=True, approved=approved)
    await react(gh, repo, ev.comment.id, "rocket")
    head_repo = pull.head.repo.full_name if pull.head.repo else None
    if started is not None and not approved and head_repo != repo.full_name:
        await reply(gh, repo, number, replies.fork_rerun_reply(pull.head.sha))


async def _change_waiver(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    ev: IssueCommentEvent,
    command: commands.Waive | commands.Unwaive,
    decision: grants.Decision,
) -> None:
    """Record a waiver or unwaiver, then post the verdict recomputed from the ledger if it may.

    Only a recorded report of the PR's current head, under the governance key of its base tip
    now, may give the verdict, and only while no audit of the head runs: that audit reads the
    ledger when it concludes, and its verdict is the newest. If it recorded its verdict while
    this change was being written, the ledger is read again and this change's verdict is posted
    after it. Otherwise the change is recorded and applies at the next audit. Keyed on the
    comment, so a redelivered command records nothing twice and posts one run.
    """
    number, comment = ev.issue.number, ev.comment
    pull = await get_pull(gh, repo, number)
    governance = await _governance(ctx, gh, repo, pull)
    history, config = governance.history, governance.config
    now = datetime.now(UTC)  # ordered against audit records, which the App also stamps
    in_force = history.waivers_in_force(now) if history else {}
    # The finding names its gate (finding ids are unique across gates): that gate's newest
    # audit is what the change recomputes.
    gate = _gate_of(history, command.finding_id, in_force)
    latest = history.latest_of(gate) if history else None
    governance = governance.for_gate(gate)
    if isinstance(command, commands.Waive):
        decision = grants.check_waiver(
            decision,
            command,
            latest.report if latest else None,
            ledger_enabled=config.ledger,
            sender=comment.user.login,
            author=pull.user.login if pull.user else None,
            policy=config.waivers,
        )
    else:
        decision = grants.check_unwaiver(decision, command, in_force, ledger_enabled=config.ledger)
    if isinstance(decision, grants.Refused):
        await reply(gh, repo, number, decision.reply)
        return
    if not isinstance(decision, grants.Accepted) or history is None:
        await reply(gh, repo, number, replies.ledger_unreadable_reply(governance.notes))
        return
    change = _change(command, comment.user.login, now, number, pull.head.sha, config.waivers, gate)
    if isinstance(change, Waiver):
        in_force = {**in_force, change.finding_id: change}
    else:
        in_force = {k: w for k, w in in_force.items() if k != change.finding_id}
    runs = await checks.list_runs(gh, repo, pull.head.sha, ctx.github_app.app_id)
    running = grants.audit_running(runs, number)
    blocker = grants.recompute_blocker(
        latest, head_sha=pull.head.sha, key=governance.key, active=running
    )
    result = _recompute(history, latest, in_force, config) if latest and not blocker else None
    if not _recorded(history, comment.html_url):
        record = _record(
            change,
            repo.full_name,
            head_sha=pull.head.sha,
            finding=decision.finding,
            reason=command.reason,
            conclusion=result.conclusion if result else None,
            comment_url=comment.html_url,
        )
        try:
            await store.write_record(gh, repo.full_name, record, ctx.github_app.seal)
        except store.LedgerError as exc:
            answer = replies.not_recorded_reply(command.finding_id, str(exc))
            await reply(gh, repo, number, answer)
            return
        if running:
            # The running audit may have recorded its verdict while this was being written,
            # from a ledger read before it: then this change's verdict must be the newest.
            meanwhile = await _concluded_meanwhile(ctx, gh, repo, pull, latest, now, gate)
            if meanwhile is not None:
                latest, result, governance = meanwhile
        if result is None:
            answer = replies.deferred_reply(_changed(change, None), blocker or "", running=running)
            await reply(gh, repo, number, answer)
            return
    if result is None or latest is None:
        return  # a redelivery of a change that waits for the next audit: answered already
    key = AuditKey(
        number,
        latest.head_sha,
        latest.base_sha or "",
        governance=governance.key,
        trigger=trigger_of(f"{grants.COMMENT_TRIGGER}{comment.id}"),
    )
    gated = config.gates is not None
    posted = await checks.ensure_concluded(
        gh,
        repo,
        latest.head_sha,
        result,
        app_id=ctx.github_app.app_id,
        external_id=(replace(key, gate=gate) if gated else key).external_id,
        name=check_name(gate),
    )
    if not posted:
        return  # a redelivery: the verdict and the reply were already posted
    conclusion: str = result.conclusion
    if gated:
        conclusion = await conclude_aggregate(
            ctx, gh, repo, key, governance, cause=key.trigger or str(comment.id)
        )
    await reply(gh, repo, number, _changed(change, conclusion))


def _gate_of(history: records.History | None, finding_id: str, in_force: dict[str, Waiver]) -> str:
    """The gate of a finding: its waiver's, else the gate whose audit reported it last."""
    if finding_id in in_force:
        return in_force[finding_id].gate
    holder = history.latest_reporting(finding_id) if history else None
    return holder.report.run.gate if holder is not None else DEFAULT_GATE


async def _concluded_meanwhile(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    pull: PullRequest,
    seen: records.AuditRecord | None,
    now: datetime,
    gate: str,
) -> tuple[records.AuditRecord, CheckRunResult, Governance] | None:
    """Read the ledger again: a newer audit of the head may stand now, and give the verdict."""
    governance = (await _governance(ctx, gh, repo, pull)).for_gate(gate)
    history = governance.history
    newest = history.latest_of(gate) if history else None
    if history is None or newest is None:
        return None
    if seen is not None and newest.recorded_at <= seen.recorded_at:
        return None  # nothing concluded: the running audit reads this change when it does
    if grants.recompute_blocker(newest, head_sha=pull.head.sha, key=governance.key, active=False):
        return None
    in_force = history.waivers_in_force(now)
    return newest, _recompute(history, newest, in_force, governance.config), governance


def _change(
    command: commands.Waive | commands.Unwaive,
    user: str,
    now: datetime,
    pr: int,
    head_sha: str,
    policy: Waivers,
    gate: str,
) -> Waiver | Unwaiver:
    """The waiver or unwaiver a command records; a waiver's expiry is fixed when it is granted."""
    if isinstance(command, commands.Unwaive):
        return Unwaiver(command.finding_id, user, now, pr)
    days = policy.expire_days
    return Waiver(
        finding_id=command.finding_id,
        reason=command.reason,
        user=user,
        at=now,
        pr=pr,
        head_sha=head_sha,
        expires_at=now + timedelta(days=days) if days else None,
        gate=gate,
    )


def _record(
    change: Waiver | Unwaiver,
    repo: str,
    *,
    head_sha: str,
    finding: Finding | None,
    reason: str,
    conclusion: str | None,
    comment_url: str | None,
) -> records.WaiverRecord | records.UnwaiverRecord:
    if isinstance(change, Waiver):
        return records.waiver_record(
            change, repo=repo, finding=finding, conclusion=conclusion, comment_url=comment_url
        )
    return records.unwaiver_record(
        change,
        repo=repo,
        head_sha=head_sha,
        reason=reason,
        conclusion=conclusion,
        comment_url=comment_url,
    )


def _recorded(history: records.History, comment_url: str | None) -> bool:
    """Tell whether this comment's change is in the ledger already (a redelivery)."""
    urls = {r.comment_url for r in history.waivers} | {r.comment_url for r in history.unwaivers}
    return comment_url is not None and comment_url in urls


def _changed(change: Waiver | Unwaiver, conclusion: str | None) -> str:
    if isinstance(change, Waiver):
        return replies.waived_reply(
            change.finding_id, change.reason, conclusion, expires_at=change.expires_at
        )
    return replies.unwaived_reply(change.finding_id, conclusion)


def _recompute(
    history: records.History,
    latest: records.AuditRecord,
    in_force: dict[str, Waiver],
    config: AppConfig,
) -> CheckRunResult:
    """The verdict of the latest recorded report under the changed waivers (no new session)."""
    previous = history.previous(latest.check_run_id, latest.report.run.gate)
    lifecycle = compare(previous.report if previous else None, latest.report, in_force)
    result = verdict.decide(latest.report, waivers=in_force, lifecycle=lifecycle)
    return outcomes.advisory(result) if config.mode == "advisory" else result
