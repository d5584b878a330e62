"""Read what governs a PR's verdict: the config at its base and the PR's ledger.

Shared by the completion and the waiver command, so both follow one rule: the config comes from
the base the audit was governed by (the default branch when that is unknown).
"""

from __future__ import annotations

import logging

from gidgethub.abc import GitHubAPI

from action.config import CONFIG_PATH
from app.edge.repos import read_config
from app.events import Repository
from app.judge.conclude import Governance
from app.ledger import store

log = logging.getLogger(__name__)


def governing_ref(base_sha: str | None, repo: Repository) -> str:
    """The ref whose config governs an audit: its base commit, else the default branch."""
    return base_sha or repo.default_branch


async def read_governance(
    gh: GitHubAPI, repo: Repository, pr: int | None, base_sha: str | None
) -> Governance:
    """Read the config at the governing base and, when the ledger is on, the PR's history.

    A config or ledger that cannot be read becomes a note for the summary, never a failure.
    """
    config, problem = await read_config(gh, repo, governing_ref(base_sha, repo))
    notes = [f"`{CONFIG_PATH}` is invalid, defaults apply: {problem}"] if problem else []
    history = None
    if config.ledger and pr is not None:
        try:
            history = await store.read_history(gh, repo.full_name, pr)
        except store.LedgerError as exc:
            notes.append(f"The ledger could not be read, so waivers and history are missing: {exc}")
            log.warning("ledger.unreadable", extra={"repo": repo.full_name, "pr": pr})
    return Governance(config=config, history=history, notes=tuple(notes))
