"""Read the repository's `.github/canon-gate.yml` from a given ref (the base branch)."""

from __future__ import annotations

import base64
import logging
from typing import Any

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from action.config import CONFIG_PATH, AppConfig, ConfigError, parse_config
from app.events import Repository

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
