"""The App's replies to comment commands: every text a person reads in the conversation.

Pure. Anything quoted from a comment is escaped: it must not mention, link or format.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from action.markdown import inline, shorten
from app.judge.commands import HELP, PREFIX
from app.ledger.waivers import Waiver


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
