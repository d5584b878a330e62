"""PR comment commands: waive, approve (a fork PR's head), rerun and help.

Who may do what is asked of GitHub (the commenter's permission), never read from the comment. A
waiver is recorded in the ledger, and the verdict is recomputed from the stored report, without a
new session, and posted as a new `canon-gate` check run: the newest run of a name is the one
branch protection reads, and annotations on the old one cannot be removed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from gidgethub import sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from app.edge import checks
from app.edge.auth import COMMANDS
from app.edge.context import Context
from app.edge.conversation import react, reply
from app.edge.repos import get_pull, permission_of
from app.events import IssueCommentEvent, Repository
from app.flows.governance import read_governance
from app.flows.start import start_audit
from app.judge import commands, verdict
from app.judge.correlate import AuditKey, trigger_of
from app.judge.lifecycle import compare
from app.ledger import records, store
from app.ledger.records import Waiver

log = logging.getLogger(__name__)
router = Router()


@router.register("issue_comment")
async def on_comment(event: sansio.Event, ctx: Context) -> None:
    ev = IssueCommentEvent.model_validate(event.data)
    command = commands.parse_command(ev.comment.body)
    if command is None or commands.is_bot(
        ev.comment.user.login, ev.comment.user.type, ctx.settings.github_app_slug
    ):
        return
    repo, number = ev.repository, ev.issue.number
    gh = await ctx.client(ev.installation.id, repo.id, COMMANDS)
    on_pr = ev.issue.pull_request is not None
    help_asked = ev.action == "created" and isinstance(command, commands.Help)
    needs_permission = on_pr and not help_asked
    comment_ctx = commands.CommentContext(
        action=ev.action or "created",
        on_pull_request=on_pr,
        sender_login=ev.comment.user.login,
        sender_type=ev.comment.user.type,
        permission=await permission_of(gh, repo, ev.comment.user.login)
        if needs_permission
        else None,
        app_slug=ctx.settings.github_app_slug,
    )
    fields = {"delivery_id": ctx.delivery_id, "repo": repo.full_name, "pr": number}
    decision = commands.check_command(comment_ctx, command)
    if isinstance(decision, commands.Accepted) and isinstance(command, commands.Waive):
        # The PR's base governs, as for every verdict of the PR.
        pull = await get_pull(gh, repo, number)
        governance = await read_governance(
            gh, repo, number, pull.base.sha, ctx.github_app.seal, cache=ctx.governs
        )
        history = governance.history
        latest = history.latest if history else None
        decision = commands.check_waiver(
            decision,
            command,
            latest.report if latest else None,
            ledger_enabled=governance.config.ledger,
        )
        if isinstance(decision, commands.Accepted) and history and latest:
            await _waive(ctx, gh, repo, ev, command, decision, history, latest)
            return
    log.info("command.decided", extra={**fields, "decision": type(decision).__name__})
    if isinstance(decision, commands.Ignored):
        return
    if isinstance(decision, commands.Refused):
        await reply(gh, repo, number, decision.reply)
    elif isinstance(command, commands.Help):
        await reply(gh, repo, number, commands.HELP)
    elif isinstance(command, commands.Approve | commands.Rerun):
        await _start(ctx, gh, repo, ev, command, decision)


async def _start(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    ev: IssueCommentEvent,
    command: commands.Approve | commands.Rerun,
    decision: commands.Decision,
) -> None:
    """Audit the PR's current head again; only `approve` of that very head is a fork's go-ahead.

    `rerun` never approves: a head pushed between a maintainer's review and their comment must
    not ride on it, so a fork PR that requires approval stays awaiting it.
    """
    number = ev.issue.number
    pull = await get_pull(gh, repo, number)
    if isinstance(command, commands.Approve):
        decision = commands.check_approval(decision, command, pull.head.sha)
    if isinstance(decision, commands.Refused):
        await reply(gh, repo, number, decision.reply)
        return
    key = AuditKey(number, pull.head.sha, pull.base.sha, trigger=trigger_of(ctx.delivery_id))
    approved = isinstance(command, commands.Approve)
    started = await start_audit(ctx, gh, repo, key, rerun=True, approved=approved)
    await react(gh, repo, ev.comment.id, "rocket")
    head_repo = pull.head.repo.full_name if pull.head.repo else None
    if started is not None and not approved and head_repo != repo.full_name:
        await reply(gh, repo, number, commands.fork_rerun_reply(pull.head.sha))


async def _waive(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    ev: IssueCommentEvent,
    command: commands.Waive,
    decision: commands.Accepted,
    history: records.History,
    latest: records.AuditRecord,
) -> None:
    """Record the waiver, then post the verdict recomputed from the stored report.

    Keyed on the comment, so a redelivered command records nothing twice and posts one run.
    """
    comment = ev.comment
    waiver = Waiver(
        finding_id=command.finding_id,
        reason=command.reason,
        user=comment.user.login,
        at=datetime.now(UTC),  # ordered against audit records, which the App also stamps
        pr=ev.issue.number,
        head_sha=latest.head_sha,
    )
    in_force = {**history.waivers_in_force(), waiver.finding_id: waiver}
    previous = history.previous(latest.check_run_id)
    before = previous.report if previous else None
    lifecycle = compare(before, latest.report, in_force) if latest.report.evaluated else None
    result = verdict.decide(latest.report, waivers=in_force, lifecycle=lifecycle)
    recorded = comment.html_url and any(w.comment_url == comment.html_url for w in history.waivers)
    if not recorded:
        record = records.waiver_record(
            waiver,
            repo=repo.full_name,
            finding=decision.finding,
            conclusion=result.conclusion,
            comment_url=comment.html_url,
        )
        try:
            await store.write_record(gh, repo.full_name, record, ctx.github_app.seal)
        except store.LedgerError as exc:
            answer = commands.not_recorded_reply(command.finding_id, str(exc))
            await reply(gh, repo, ev.issue.number, answer)
            return
    key = AuditKey(
        ev.issue.number,
        latest.head_sha,
        latest.base_sha or "",
        trigger=trigger_of(f"comment-{comment.id}"),
    )
    posted = await checks.ensure_concluded(
        gh, repo, latest.head_sha, result, app_id=ctx.github_app.app_id, external_id=key.external_id
    )
    if not posted:
        return  # a redelivery: the verdict and the reply were already posted
    answer = commands.waived_reply(command.finding_id, command.reason, result.conclusion)
    await reply(gh, repo, ev.issue.number, answer)
