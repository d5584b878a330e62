"""What an installation lacks for merge queues and canon-change re-audits, and what to say.

Pure: the caller reads the installation's `permissions` and `events` (an `installation` event, or
`GET /app/installations/{id}`) and asks here. Installations made before canon-gate asked for
`merge_group` and `push` keep the old grants until their owner accepts the new ones, and GitHub
then simply sends nothing: without this, a merge queue would stall with no word why.
https://docs.github.com/en/webhooks/webhook-events-and-payloads#merge_group
https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from app.judge import render
from app.judge.checkrun import CheckRunResult
from app.judge.links import Links

_LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
_NO_LINKS = Links()


@dataclass(frozen=True)
class Need:
    """One feature's webhook event and the repository permission GitHub requires for it."""

    feature: str
    event: str
    # GitHub's name for the permission (the manifest's and the API's), its settings label,
    # and the least level that delivers the event.
    permission: str
    label: str
    level: str = "read"


MERGE_QUEUE = Need("merge queues", "merge_group", "merge_queues", "Merge queues")
CANON_CHANGE = Need(
    "re-judging pull requests when the canon changes", "push", "contents", "Contents"
)
NEEDS = (MERGE_QUEUE, CANON_CHANGE)


@dataclass(frozen=True)
class Missing:
    """What one feature lacks: its event, its permission, or both."""

    need: Need
    event: bool
    permission: bool

    def describe(self) -> str:
        """Say in one sentence what is missing, in the words of GitHub's settings page."""
        lacks = []
        if self.permission:
            lacks.append(f"the {self.need.label} repository permission ({self.need.level})")
        if self.event:
            lacks.append(f"the `{self.need.event}` event")
        return f"For {self.need.feature}, this installation lacks {' and '.join(lacks)}."


def missing(
    permissions: Mapping[str, str], events: Collection[str], needs: Sequence[Need] = NEEDS
) -> list[Missing]:
    """What the installation's grants lack for each feature, in `needs`' order (empty: none)."""
    found = []
    for need in needs:
        level = _LEVELS.get(permissions.get(need.permission, "none"), 0)
        no_permission = level < _LEVELS[need.level]
        no_event = need.event not in events
        if no_permission or no_event:
            found.append(Missing(need, event=no_event, permission=no_permission))
    return found


def how_to_grant(installation_url: str | None) -> str:
    """The two steps that add a permission: the App's owner asks, the installation's accepts."""
    accept = (
        f"[the installation's settings]({installation_url})"
        if installation_url
        else "the installation's settings (Settings → GitHub Apps → canon-gate → Configure)"
    )
    return (
        "1. The App's owner adds them in the App's settings → **Permissions & events** (an App "
        "registered from `canon-gate serve` asks for them when registered again from its "
        "current manifest).\n"
        f"2. The owner of this installation accepts the new permissions in {accept}.\n"
        "3. Press **Re-run** here."
    )


def permissions_required(
    lacking: Sequence[Missing],
    *,
    what: str,
    installation_url: str | None = None,
    links: Links = _NO_LINKS,
) -> CheckRunResult:
    """Conclude `action_required`: `what` (the App's own words, markdown) cannot be checked
    until the installation is granted what it lacks. Never success."""
    parts = [
        render.headline("🔐", f"Setup required: {what}"),
        "\n".join(f"- {m.describe()}" for m in lacking),
        f"GitHub sends canon-gate nothing for {what} until then. To grant it:",
        how_to_grant(installation_url),
        links.markdown(),
    ]
    return CheckRunResult(
        conclusion="action_required",
        title="Setup required: the canon-gate App needs new permissions",
        summary=render.page(parts, links),
    )
