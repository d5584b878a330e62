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

log = logging.getLogger(__name__)


async def read_governance(
    gh: GitHubAPI,
    repo: Repository,
    pr: int | None,
    base_sha: str,
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
    history = None
    if at_base.config.ledger and pr is not None:
        try:
            history = await store.read_history(gh, repo.full_name, pr)
        except store.LedgerError as exc:
            notes.append(f"The ledger could not be read, so waivers and history are missing: {exc}")
            log.warning("ledger.unreadable", extra={"repo": repo.full_name, "pr": pr})
    return Governance(config=at_base.config, key=at_base.key, history=history, notes=tuple(notes))
