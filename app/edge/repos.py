"""Repository reads: the config at a ref, a pull request, and a person's permission."""

from __future__ import annotations

import base64
import logging
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from action.config import CONFIG_PATH, AppConfig, ConfigError, parse_config
from app.events import PullRequest, Repository

log = logging.getLogger(__name__)


async def read_config(gh: GitHubAPI, repo: Repository, ref: str) -> tuple[AppConfig, str | None]:
    """Return the config at `ref` and, when it is broken, why; a broken file means defaults.

    The data plane turns a broken config into a not-evaluated report; the App only needs the
    governance keys, and falls back to the defaults (ledger on) rather than lose a record.
    """
    try:
        data: Any = await gh.getitem(
            "/repos/{owner}/{repo}/contents/{+path}{?ref}",
            url_vars={"owner": repo.owner, "repo": repo.name, "path": CONFIG_PATH, "ref": ref},
        )
    except BadRequest as exc:
        if int(exc.status_code) == 404:
            return AppConfig(), None
        raise
    text = base64.b64decode(str(data.get("content", ""))).decode("utf-8", errors="replace")
    try:
        return parse_config(text, view=AppConfig), None
    except ConfigError as exc:
        log.warning("config.invalid", extra={"repo": repo.full_name, "ref": ref})
        return AppConfig(), str(exc)


async def get_pull(gh: GitHubAPI, repo: Repository, number: int) -> PullRequest:
    data = await gh.getitem(
        "/repos/{owner}/{repo}/pulls/{number}",
        url_vars={"owner": repo.owner, "repo": repo.name, "number": str(number)},
    )
    return PullRequest.model_validate(data)


async def permission_of(gh: GitHubAPI, repo: Repository, login: str) -> str | None:
    """The person's permission on the repository, as GitHub says (never as a comment says)."""
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        url_vars={"owner": repo.owner, "repo": repo.name, "username": login},
    )
    return str(data.get("permission")) if data.get("permission") else None
