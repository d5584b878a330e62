"""Whether a comment command may run: who asked, with what permission, on what.

Pure. The handler asks GitHub for the commenter's permission and the PR's author (never the
comment), reads the ledger, then calls `check_command` and the command's own check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from action.config import CONFIG_PATH, Waivers
from action.report import Finding, Report
from app.events import CheckRun
from app.judge.checkrun import ACTIVE
from app.judge.commands import PREFIX, Approve, Command, Help, Malformed, Rerun, Unwaive, Waive
from app.judge.correlate import parse_external_id
from app.ledger.records import AuditRecord
from app.ledger.waivers import Waiver

# The trigger of a check run that carries a waiver change's recomputed verdict, not an audit.
COMMENT_TRIGGER = "comment-"


WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


@dataclass(frozen=True)
class CommentContext:
    """What a decision about a comment command needs, fetched by the handler."""

    action: str  # the issue_comment webhook action: created, edited or deleted
    on_pull_request: bool
    sender_login: str
    sender_type: str
    # From GET collaborators/{user}/permission; None when GitHub did not say.
    permission: str | None
    app_slug: str | None = None


@dataclass(frozen=True)
class Accepted:
    command: Waive | Unwaive | Approve | Rerun | Help
    # For a waiver: the finding it lets pass.
    finding: Finding | None = None


@dataclass(frozen=True)
class Refused:
    """The command changes nothing; `reply` is the user-facing answer."""

    reply: str


@dataclass(frozen=True)
class Ignored:
    """Not answered at all: a bot (or the App itself) wrote it."""

    why: str


Decision = Accepted | Refused | Ignored


def is_bot(sender_login: str, sender_type: str, app_slug: str | None = None) -> bool:
    """Tell whether a comment's author is a bot or the App itself, whose commands are ignored."""
    login = sender_login.lower()
    if sender_type == "Bot" or login.endswith("[bot]"):
        return True
    return app_slug is not None and login in (app_slug.lower(), f"{app_slug.lower()}[bot]")


def check_command(ctx: CommentContext, command: Command) -> Decision:
    """Decide whether a command may run; the rules shared by every command.

    Only people with write access get an answer to a malformed or edited command, so nobody
    else can make the App post on a pull request (help is for everyone).
    """
    if is_bot(ctx.sender_login, ctx.sender_type, ctx.app_slug):
        return Ignored(f"comment by bot {ctx.sender_login}")
    if isinstance(command, Help) and ctx.action == "created":
        return Accepted(command)
    if not ctx.on_pull_request:
        if ctx.action != "created":
            return Ignored("an edited or deleted comment on an issue")
        return Refused(
            "canon-gate commands work only in comments on a pull request, not on an issue."
        )
    writer = ctx.permission in WRITE_PERMISSIONS
    if ctx.action != "created":
        if not writer:
            return Ignored(f"a {ctx.action} comment by {ctx.sender_login}, without write access")
        verb = "deleted" if ctx.action == "deleted" else "edited"
        return Refused(
            f"canon-gate reads commands only from new comments, so this {verb} comment changed "
            f"nothing. Post the command in a new comment instead."
        )
    if isinstance(command, Malformed):
        if not writer:
            return Ignored(f"a malformed command by {ctx.sender_login}, without write access")
        return Refused(command.reply)
    if not writer:
        have = ctx.permission or "no"
        return Refused(
            f"@{ctx.sender_login}, `{PREFIX}` commands need write, maintain or admin permission "
            f"on this repository, and you have {have} permission. Nothing was changed."
        )
    return Accepted(command)


def _ledger_off() -> Refused:
    return Refused(
        "Waivers are unavailable in this repository: they are recorded in the ledger, and the "
        f"ledger is turned off (`ledger: false` in `{CONFIG_PATH}`). Nothing was changed."
    )


def check_waiver(
    decision: Decision,
    command: Waive,
    latest: Report | None,
    *,
    ledger_enabled: bool,
    sender: str = "",
    author: str | None = None,
    policy: Waivers | None = None,
) -> Decision:
    """Decide whether a waiver is granted, once `check_command` accepted the command.

    `latest` is the latest recorded report of this PR; `ledger_enabled` and `policy` come from
    the config of the PR's base; `author` is the PR's author, as GitHub says. Separation of
    duties: unless `waivers.allow_author` is on, the author cannot waive on their own PR.
    """
    if not isinstance(decision, Accepted):
        return decision
    if not ledger_enabled:
        return _ledger_off()
    policy = policy or Waivers()
    if not policy.allow_author and author and sender.lower() == author.lower():
        return Refused(
            f"@{sender}, you opened this pull request, and a waiver here needs someone else with "
            f"write access: the author may not waive findings on their own pull request "
            f"(`waivers.allow_author: false` in `{CONFIG_PATH}`). Nothing was changed."
        )
    if latest is None:
        return Refused(
            f"There is no recorded canon-gate audit of this pull request yet, so there is no "
            f"finding `{command.finding_id}` to waive."
        )
    finding = next((f for f in latest.findings if f.id == command.finding_id), None)
    if finding is None:
        return Refused(
            f"The latest canon-gate audit of this pull request has no finding "
            f"`{command.finding_id}`. Check the id in the newest `canon-gate` check run."
        )
    return Accepted(command, finding)


def check_unwaiver(
    decision: Decision, command: Unwaive, in_force: Mapping[str, Waiver], *, ledger_enabled: bool
) -> Decision:
    """Decide whether a waiver may be ended: only one in force on this PR can be."""
    if not isinstance(decision, Accepted):
        return decision
    if not ledger_enabled:
        return _ledger_off()
    if command.finding_id not in in_force:
        return Refused(
            f"No waiver of `{command.finding_id}` is in force on this pull request, so there is "
            "nothing to unwaive."
        )
    return decision


def audit_running(runs: list[CheckRun], pr: int) -> bool:
    """Tell whether an audit of PR `pr` is active among the App's runs on its head.

    A waiver's own verdict run (open only while its annotations are posted) is not an audit.
    """
    keys = [parse_external_id(r.external_id) for r in runs if r.status in ACTIVE]
    return any(
        k is not None and k.pr == pr and not k.trigger.startswith(COMMENT_TRIGGER) for k in keys
    )


def recompute_blocker(
    latest: AuditRecord | None, *, head_sha: str, key: str, active: bool
) -> str | None:
    """Say why a changed waiver's verdict cannot be recomputed from the ledger, or None if it can.

    A recorded report stands for the PR only if it judged the PR's current head under the
    governance key of its base tip now; otherwise the change waits for the next audit. While an
    audit of the head is running, its verdict will be the newest and it reads the ledger when it
    concludes, so no recomputed verdict is posted: the newest verdict wins, whatever the order.
    """
    if active:
        return (
            "an audit of this head is running, and it reads the ledger when it concludes, so "
            "its verdict (the newest) applies this"
        )
    if latest is None:
        return "there is no recorded audit of this pull request"
    if latest.head_sha != head_sha:
        return (
            f"the latest recorded audit judged {latest.head_sha[:7]}, and the pull request's "
            f"head is now {head_sha[:7]}"
        )
    if not key or latest.governance_key != key:
        return (
            "the config or canon of the base branch changed since the latest recorded audit, so "
            "its findings no longer stand for this pull request"
        )
    if not latest.report.evaluated:
        return "the latest recorded audit was not evaluated"
    return None


def check_approval(decision: Decision, command: Approve, head_sha: str) -> Decision:
    """Accept an approval only for the PR's current head: what the maintainer reviewed.

    A push between the review and the comment must not ride on the go-ahead, so any other head
    is refused, naming the current one.
    """
    if not isinstance(decision, Accepted):
        return decision
    if head_sha.lower().startswith(command.sha):
        return decision
    return Refused(
        f"`{command.sha}` is not the head of this pull request, so nothing was started: its "
        f"head is now `{head_sha}`. Review that commit, then comment "
        f"`{PREFIX} approve {head_sha}`."
    )
