"""What GitHub says about this App: who it is, where its webhook goes, where it is installed.

Read with the App's JWT for the status page and `/readyz`. Nothing here is cached or stored:
GitHub is the record, and these reads are cheap (one point each; a token per installation shown).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import aiohttp
import jwt
from gidgethub import BadRequest, GitHubBroken, HTTPException, RateLimitExceeded
from pydantic import BaseModel, ConfigDict

from app.edge.github import GitHub, GitHubApp

# The status page shows this much; the rest is counted, and GitHub's settings list it all.
MAX_INSTALLATIONS = 10
MAX_REPOSITORIES = 10
MAX_DELIVERIES = 20
# Listing repositories needs an installation token; metadata read is what every App has.
LIST_REPOSITORIES = {"metadata": "read"}
# What a read of GitHub may fail with: an answer we can classify, or no answer at all.
UNAVAILABLE = (HTTPException, aiohttp.ClientError, OSError, TimeoutError)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Model):
    login: str
    type: str = "User"


class AppIdentity(_Model):
    """`GET /app`: the App the JWT signs for."""

    id: int
    slug: str
    name: str
    html_url: str = ""
    owner: Account | None = None


class HookConfig(_Model):
    """`GET /app/hook/config`: where GitHub delivers (the secret is never returned)."""

    url: str = ""
    content_type: str | None = None


class InstallationInfo(_Model):
    id: int
    account: Account | None = None
    repository_selection: str = "all"
    html_url: str = ""
    suspended_at: datetime | None = None


class RepositoryInfo(_Model):
    full_name: str
    html_url: str = ""


class DeliveryInfo(_Model):
    """One attempt in GitHub's delivery log (`GET /app/hook/deliveries`)."""

    id: int
    guid: str
    delivered_at: datetime
    redelivery: bool = False
    status: str = ""
    status_code: int = 0
    event: str = ""
    action: str | None = None


@dataclass(frozen=True)
class Problem:
    """Why a read failed, in words for the operator; never a credential."""

    kind: Literal["refused", "unreachable", "key"]
    detail: str


def problem_of(exc: BaseException, api_url: str) -> Problem:
    """Classify a failed read: GitHub refused our credentials, or could not be reached."""
    if isinstance(exc, RateLimitExceeded) or (
        isinstance(exc, BadRequest) and int(exc.status_code) == 429
    ):
        return Problem("unreachable", f"GitHub is rate-limiting this App ({exc.status_code})")
    if isinstance(exc, BadRequest):
        return Problem("refused", f"GitHub answered {int(exc.status_code)}: {exc}")
    if isinstance(exc, GitHubBroken | HTTPException):
        return Problem("unreachable", f"GitHub answered {int(exc.status_code)} at {api_url}")
    if isinstance(exc, jwt.PyJWTError | ValueError | TypeError):
        return Problem("key", f"the private key cannot sign the App's JWT ({type(exc).__name__})")
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        reason = "no answer in time"
    return Problem("unreachable", f"could not reach {api_url}: {reason}")


async def identify(github_app: GitHubApp, *, deadline: float) -> AppIdentity:
    """Ask GitHub which App our JWT signs for: proof that the id and key are accepted."""
    gh = github_app.app_client(deadline=deadline)
    data: Any = await gh.getitem("/app", jwt=github_app.jwt())
    return AppIdentity.model_validate(data)


@dataclass
class Installed:
    """An installation and the repositories it reaches (the first few)."""

    installation: InstallationInfo
    repositories: list[RepositoryInfo] = field(default_factory=list)
    total: int = 0
    problem: Problem | None = None


@dataclass
class AppStatus:
    """Everything the status page shows that comes from GitHub."""

    identity: AppIdentity | None = None
    problem: Problem | None = None
    hook: HookConfig | None = None
    installed: list[Installed] = field(default_factory=list)
    more_installations: int = 0
    deliveries: list[DeliveryInfo] = field(default_factory=list)
    details_problem: Problem | None = None


async def _installations(gh: GitHub, app_jwt: str) -> tuple[list[InstallationInfo], int]:
    found: list[InstallationInfo] = []
    more = 0
    items = gh.getiter(f"/app/installations?per_page={MAX_INSTALLATIONS}", jwt=app_jwt)
    async with contextlib.aclosing(items) as listed:
        async for item in listed:
            if len(found) < MAX_INSTALLATIONS:
                found.append(InstallationInfo.model_validate(item))
            else:
                more += 1
    return found, more


async def _repositories(
    github_app: GitHubApp, installation: InstallationInfo, deadline: float
) -> Installed:
    """The first repositories an installation reaches, read with a token that can only list."""
    gh = github_app.app_client(deadline=deadline)
    try:
        token: Any = await gh.post(
            "/app/installations/{installation_id}/access_tokens",
            url_vars={"installation_id": str(installation.id)},
            data={"permissions": LIST_REPOSITORIES},
            jwt=github_app.jwt(),
        )
        reader = GitHub(
            github_app.session,
            base_url=github_app.settings.github_api_url,
            oauth_token=str(token["token"]),
            deadline=deadline,
        )
        data: Any = await reader.getitem(f"/installation/repositories?per_page={MAX_REPOSITORIES}")
    except UNAVAILABLE as exc:
        # A suspended installation answers 403: say so on its row, not for the whole page.
        return Installed(installation, problem=problem_of(exc, github_app.settings.github_api_url))
    repositories = [RepositoryInfo.model_validate(r) for r in data.get("repositories", [])]
    return Installed(installation, repositories, int(data.get("total_count", len(repositories))))


async def _details(github_app: GitHubApp, status: AppStatus, deadline: float) -> None:
    gh = github_app.app_client(deadline=deadline)
    app_jwt = github_app.jwt()
    hook: Any = await gh.getitem("/app/hook/config", jwt=app_jwt)
    status.hook = HookConfig.model_validate(hook)
    listed: Any = await gh.getitem(f"/app/hook/deliveries?per_page={MAX_DELIVERIES}", jwt=app_jwt)
    status.deliveries = [DeliveryInfo.model_validate(d) for d in listed]
    installations, status.more_installations = await _installations(gh, app_jwt)
    status.installed = list(
        await asyncio.gather(*(_repositories(github_app, i, deadline) for i in installations))
    )


async def gather_status(github_app: GitHubApp, *, budget: float) -> AppStatus:
    """Verify the credentials, then read the webhook, deliveries and installations.

    Never raises for GitHub's sake: what could not be read is a `Problem` the page shows.
    """
    api_url = github_app.settings.github_api_url
    deadline = asyncio.get_running_loop().time() + budget
    status = AppStatus()
    try:
        async with asyncio.timeout(budget):
            status.identity = await identify(github_app, deadline=deadline)
    except (*UNAVAILABLE, ValueError, TypeError, jwt.PyJWTError) as exc:
        status.problem = problem_of(exc, api_url)
        return status
    try:
        async with asyncio.timeout(max(0.1, deadline - asyncio.get_running_loop().time())):
            await _details(github_app, status, deadline)
    except UNAVAILABLE as exc:
        status.details_problem = problem_of(exc, api_url)
    return status
