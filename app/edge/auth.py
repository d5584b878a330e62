"""GitHub App authentication: the App's JWT and installation tokens narrowed per step.

Tokens are cached until shortly before `expires_at` and are never logged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import jwt

# https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
JWT_BACKDATE_SECONDS = 60  # allows for clock drift between us and GitHub
JWT_LIFETIME_SECONDS = 540  # GitHub allows at most 10 minutes
TOKEN_REFRESH_MARGIN_SECONDS = 300


def make_jwt(app_id: int, private_key_pem: str, *, now: float | None = None) -> str:
    """Sign the App's RS256 JWT; `iss` must be a string for GitHub (and PyJWT)."""
    issued = int(time.time() if now is None else now) - JWT_BACKDATE_SECONDS
    claims = {"iat": issued, "exp": issued + JWT_LIFETIME_SECONDS, "iss": str(app_id)}
    return jwt.encode(claims, private_key_pem, algorithm="RS256")


# What each step of the App may do, and nothing more. Names and levels are GitHub's.
Permissions = Mapping[str, str]
# contents read: the config and canon at the base, for the governance key.
START_AUDIT: Permissions = {"checks": "write", "actions": "write", "contents": "read"}
CONCLUDE_AUDIT: Permissions = {
    "checks": "write",
    "actions": "read",
    "contents": "write",
    # pull_requests read: a manual run's report is checked against its PR's base branch.
    "pull_requests": "read",
}
COMMENT: Permissions = {"issues": "write"}
# Suggested fixes: read the PR's patches and review comments, post one review, edit its comments.
SUGGEST: Permissions = {"pull_requests": "write"}
# The sweep reads the App's runs on a head (a PR's, when a comment names it) and concludes them.
SWEEP: Permissions = {"checks": "write", "pull_requests": "read"}
READ_PR: Permissions = {
    "checks": "write",
    "pull_requests": "read",
    "actions": "write",
    "contents": "read",
}
COMMANDS: Permissions = {
    # metadata read: asking GitHub for the commenter's permission on the repository.
    "metadata": "read",
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "pull_requests": "read",
    "actions": "write",
}


@dataclass(frozen=True)
class InstallationToken:
    token: str
    expires_at: float

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - TOKEN_REFRESH_MARGIN_SECONDS

    def __repr__(self) -> str:  # never let a token reach a log line through repr()
        return f"InstallationToken(expires_at={self.expires_at})"


def parse_expiry(expires_at: str) -> float:
    return datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()


TokenKey = tuple[int, int, frozenset[tuple[str, str]]]


def token_key(installation_id: int, repository_id: int, permissions: Permissions) -> TokenKey:
    return installation_id, repository_id, frozenset(permissions.items())
