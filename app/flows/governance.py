"""Read what governs a PR's verdict: the config and the governance key at a base, and the ledger.

Shared by the completion and the waiver command, so both follow one rule: what governs is read
at the base commit the verdict is judged against, by the App itself from GitHub.
"""

from __future__ import annotations

import logging

from gidgethub.abc import GitHubAPI

from action.config import CONFIG_PATH
from app.edge.governs import GovernsCache, read_at_base
from app.events import Repository
from app.judge.conclude import Governance
from app.ledger import store
from app.ledger.history import read_history
from app.ledger.seal import Seal

log = logging.getLogger(__name__)


def rejected_note(rejected: tuple[tuple[str, str], ...]) -> str:
    """Say, visibly, that ledger files were not trusted: tampering is never silent."""
    shown = "; ".join(f"`{path}` ({why})" for path, why in rejected[:5])
    more = f" and {len(rejected) - 5} more" if len(rejected) > 5 else ""
    return (
        f"{len(rejected)} file(s) on the ledger branch were not written by this App and were "
        f"ignored: {shown}{more}. Protect `canon-gate/*` with a ruleset only the App may bypass."
    )


async def read_governance(
    gh: GitHubAPI,
    repo: Repository,
    pr: int | None,
    base_sha: str,
    seal: Seal,
    *,
    cache: GovernsCache | None = None,
) -> Governance:
    """Read the config and key at `base_sha` and, when the ledger is on, the PR's history.

    A config or ledger that cannot be read becomes a note for the summary, never a failure.
    """
    at_base = await read_at_base(gh, repo, base_sha, cache=cache)
    notes = (
        [f"`{CONFIG_PATH}` is invalid, defaults apply: {at_base.problem}"]
        if at_base.problem
        else []
    )
    # A canon source whose ref the App could not resolve: no report's key can match this one,
    # so the audit is never judged; say why, and what to do.
    notes += list(at_base.unresolved)
    history = None
    if at_base.config.ledger and pr is not None:
        try:
            history = await read_history(gh, repo.full_name, pr, seal)
        except store.LedgerError as exc:
            notes.append(f"The ledger could not be read, so waivers and history are missing: {exc}")
            log.warning("ledger.unreadable", extra={"repo": repo.full_name, "pr": pr})
    if history is not None and history.rejected:
        notes.append(rejected_note(history.rejected))
    return Governance(
        config=at_base.config,
        key=at_base.key,
        history=history,
        notes=tuple(notes),
        governs=at_base.governs,
    )
