"""PR comment commands and whether they may run: pure decisions and their reply texts.

The handler fetches what a decision needs (the commenter's permission and the PR's author from
GitHub, never from the comment; the latest report and the waivers from the ledger), calls
`check_command`, then `check_waiver`, `check_unwaiver` or `check_approval`, then writes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from markdown_it import MarkdownIt
from markdown_it.token import Token

from action.config import CONFIG_PATH, Waivers
from action.markdown import inline, shorten
from action.report import Finding, Report
from app.events import CheckRun
from app.judge.checkrun import ACTIVE
from app.judge.correlate import parse_external_id
from app.ledger.records import AuditRecord, Waiver

# The trigger of a check run that carries a waiver change's recomputed verdict, not an audit.
COMMENT_TRIGGER = "comment-"

PREFIX = "/canon-gate"
FINDING_ID = re.compile(r"^cg-[0-9a-f]{10}$")
# A head commit named as GitHub shows it: at least the 7 hex digits of a short SHA.
HEAD_SHA = re.compile(r"^[0-9a-f]{7,40}$")
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
MAX_REASON = 1000

HELP = f"""\
**canon-gate commands** (in a new comment on the pull request, as plain text on a line of \
their own: a command in code, a quote, a list or an HTML comment is not read):

- `{PREFIX} waive <finding-id> <reason>`: let one finding pass on this pull request, with \
the reason recorded in the `canon-gate/ledger` branch. Needs write, maintain or admin \
permission, and someone other than the pull request's author (unless `waivers.allow_author` \
is on). The waiver follows the finding across pushes while it persists, never carries to \
another pull request, and expires after `waivers.expire_days` when that is set.
- `{PREFIX} unwaive <finding-id>`: end a waiver on this pull request, so the finding counts \
again. Needs write, maintain or admin permission.
- `{PREFIX} approve <head-sha>`: let the audit session read a pull request from a fork, at \
the head commit you reviewed (7 or more of its hex digits; the full SHA is safest). Needs write, \
maintain or admin permission. If the pull request's head is another commit by then, nothing \
starts, and the reply names the current head.
- `{PREFIX} rerun`: audit the pull request's current head again. It never approves a fork's \
pull request: that takes `{PREFIX} approve <head-sha>`.
- `{PREFIX} help`: show this message.

Finding ids look like `cg-0123abcd45` and are listed in the `canon-gate` check run."""


@dataclass(frozen=True)
class Waive:
    finding_id: str
    reason: str


@dataclass(frozen=True)
class Unwaive:
    finding_id: str
    reason: str = ""


@dataclass(frozen=True)
class Approve:
    """The go-ahead for a fork PR, bound to the head commit the maintainer reviewed."""

    sha: str  # a prefix (7 to 40 hex digits) of the head SHA


@dataclass(frozen=True)
class Rerun:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Malformed:
    """A line addressed to canon-gate that is not a valid command; `reply` says what is wrong."""

    reply: str


Command = Waive | Unwaive | Approve | Rerun | Help | Malformed


# CommonMark, as GitHub renders comments (GFM is a superset; its extensions add no place where
# a command could hide as plain text). Built once: parsing is pure and the parser is reusable.
_MARKDOWN = MarkdownIt("commonmark")


def _visible(token: Token) -> str:
    """The text a reader sees for one inline token; markup and HTML show nothing of their own."""
    if token.type == "text":
        return token.content
    if token.type == "code_inline":
        # Kept visibly code, so a command shown as code never reads as one.
        return f"`{token.content}`"
    if token.type == "image":
        return token.content
    return ""  # html_inline (hidden), emphasis and link markers (their text is a text token)


def _command_lines(body: str) -> Iterator[str]:
    """Yield the lines a reader sees as plain text in the comment's top-level paragraphs.

    The comment is parsed as CommonMark: code blocks (indented or fenced, even a fence left
    open), HTML blocks and comments, block quotes, lists and headings hold no command. A line
    counts only when its first token is plain text, so a command inside inline code or an
    inline HTML comment stays hidden, as it is to a reader.
    """
    tokens = _MARKDOWN.parse(body)
    for opening, content in itertools.pairwise(tokens):
        if opening.type != "paragraph_open" or opening.level != 0 or content.type != "inline":
            continue
        line: list[Token] = []
        for child in [*(content.children or []), Token("softbreak", "", 0)]:
            if child.type not in ("softbreak", "hardbreak"):
                line.append(child)
                continue
            if line and line[0].type == "text":
                yield "".join(_visible(t) for t in line).strip()
            line = []


def parse_command(body: str | None) -> Command | None:
    """Find the first `/canon-gate` command line in a comment; None when there is none."""
    for line in _command_lines(body or ""):
        words = line.split(None, 1)
        if not words or words[0].lower() != PREFIX:
            continue
        rest = words[1].strip() if len(words) > 1 else ""
        verb, _, args = rest.partition(" ")
        verb = verb.lower()
        if verb == "waive":
            return _parse_waive(args.strip())
        if verb == "unwaive":
            return _parse_unwaive(args.strip())
        if verb == "approve":
            return _parse_approve(args.strip())
        if verb == "rerun" and not args.strip():
            return Rerun()
        if verb == "help" and not args.strip():
            return Help()
        # Echo the text escaped: a comment must not make the App post mentions, links or images.
        shown = inline(shorten(f"{PREFIX} {rest}", 80))
        return Malformed(f"{shown} is not a canon-gate command.\n\n{HELP}")
    return None


def _finding_id(args: str, usage: str) -> tuple[str, str] | Malformed:
    """Split a finding id off the arguments; say what is wrong when there is none."""
    finding_id, _, rest = args.partition(" ")
    finding_id = finding_id.strip().lower()
    if not finding_id:
        return Malformed(f"Which finding? {usage}")
    if not FINDING_ID.match(finding_id):
        return Malformed(
            f"{inline(shorten(finding_id, 40))} is not a finding id: ids look like `cg-` "
            f"followed by 10 hex digits, as listed in the `canon-gate` check run. {usage}"
        )
    return finding_id, rest.strip()


def _parse_waive(args: str) -> Waive | Malformed:
    usage = f"Usage: `{PREFIX} waive <finding-id> <reason>`."
    parsed = _finding_id(args, usage)
    if isinstance(parsed, Malformed):
        return parsed
    finding_id, reason = parsed
    if not reason:
        return Malformed(f"A waiver needs a reason, and it is recorded in the ledger. {usage}")
    if len(reason) > MAX_REASON:
        return Malformed(f"The reason is longer than {MAX_REASON} characters; please shorten it.")
    return Waive(finding_id=finding_id, reason=reason)


def _parse_unwaive(args: str) -> Unwaive | Malformed:
    parsed = _finding_id(args, f"Usage: `{PREFIX} unwaive <finding-id>`.")
    if isinstance(parsed, Malformed):
        return parsed
    finding_id, reason = parsed
    if len(reason) > MAX_REASON:
        return Malformed(f"The reason is longer than {MAX_REASON} characters; please shorten it.")
    return Unwaive(finding_id, reason)


def _parse_approve(args: str) -> Approve | Malformed:
    sha = args.lower()
    usage = (
        f"Usage: `{PREFIX} approve <head-sha>`, with at least 7 hex digits of the head commit "
        "you reviewed."
    )
    if not sha:
        return Malformed(f"Which commit? {usage}")
    if not HEAD_SHA.match(sha):
        return Malformed(f"{inline(shorten(args, 50))} is not a commit SHA. {usage}")
    return Approve(sha)


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


def fork_rerun_reply(head_sha: str) -> str:
    """Tell a maintainer that a re-run of a fork's PR is no go-ahead for its session."""
    return (
        f"Re-running the audit. This pull request comes from a fork, and `{PREFIX} rerun` does not "
        "approve it: if the repository requires approval for forks, the audit waits for "
        f"`{PREFIX} approve <head-sha>` of the head you reviewed (now `{head_sha}`)."
    )


def _day(at: datetime) -> str:
    return at.date().isoformat()


def waived_reply(
    finding_id: str, reason: str, conclusion: str | None, *, expires_at: datetime | None = None
) -> str:
    """Answer a granted waiver (the reason escaped: it is quoted, never rendered)."""
    text = f"Waived {finding_id}: {inline(reason)}."
    if conclusion is not None:
        text += f" The verdict is now {conclusion}."
    if expires_at is not None:
        text += f" The waiver expires on {_day(expires_at)}."
    return text


def unwaived_reply(finding_id: str, conclusion: str | None) -> str:
    text = f"Unwaived {finding_id}: the finding counts again."
    return text + (f" The verdict is now {conclusion}." if conclusion is not None else "")


def deferred_reply(done: str, why: str, *, running: bool) -> str:
    """Answer a waiver change that is recorded but whose verdict is not recomputed now."""
    if running:
        return f"{done} It is recorded in the ledger; no verdict was posted now: {why}."
    return (
        f"{done} It is recorded in the ledger, but no verdict was posted: {why}. It applies "
        f"at the next audit; comment `{PREFIX} rerun` to audit now."
    )


def waivers_section(in_force: Mapping[str, Waiver]) -> str:
    """List a PR's waivers in force, oldest first (reasons and names escaped)."""
    if not in_force:
        return "**Waivers in force on this pull request:** none."
    lines = [f"**Waivers in force on this pull request** ({len(in_force)}):", ""]
    for waiver in sorted(in_force.values(), key=lambda w: w.at):
        expires = f", expires {_day(waiver.expires_at)}" if waiver.expires_at else ""
        lines.append(
            f"- `{waiver.finding_id}`, by {inline(shorten(waiver.user, 40))} on "
            f"{_day(waiver.at)}{expires}: {inline(shorten(waiver.reason, 200))}"
        )
    return "\n".join(lines)


def help_reply(in_force: Mapping[str, Waiver] | None) -> str:
    """The help text, with the PR's waivers in force when the ledger could be read."""
    return HELP if in_force is None else f"{HELP}\n\n{waivers_section(in_force)}"


def ledger_unreadable_reply(notes: tuple[str, ...]) -> str:
    """Answer a waiver change when the ledger it is recorded in could not be read."""
    why = " ".join(notes) or "the ledger could not be read"
    return f"Nothing was changed: {inline(shorten(why, 300))}"


def not_recorded_reply(finding_id: str, why: str) -> str:
    """Answer a waiver that was allowed but could not be written to the ledger."""
    return (
        f"The waiver of {finding_id} could not be recorded, so it does not count: {why}. "
        "Nothing was changed."
    )
