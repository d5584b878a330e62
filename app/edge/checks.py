"""Check-run I/O: find, create, start and conclude the `canon-gate` check runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gidgethub.abc import GitHubAPI

from app.events import CheckRun, Repository
from app.judge.checkrun import CHECK_NAME, CheckRunResult


async def list_runs(
    gh: GitHubAPI, repo: Repository, head_sha: str, app_id: int, name: str = CHECK_NAME
) -> list[CheckRun]:
    """The App's own runs of one name on one commit, newest first (one call)."""
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/commits/{ref}/check-runs{?check_name,filter,app_id,per_page}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "ref": head_sha,
            "check_name": name,
            "filter": "all",
            "app_id": str(app_id),
            "per_page": "100",
        },
    )
    runs = [CheckRun.model_validate(item) for item in data["check_runs"]]
    mine = [r for r in runs if r.app is None or r.app.id == app_id]
    return sorted(mine, key=lambda r: r.id, reverse=True)


async def list_all_runs(
    gh: GitHubAPI, repo: Repository, head_sha: str, app_id: int
) -> list[CheckRun]:
    """The App's own runs of every name on one commit, newest first (one call).

    A page of 100: a commit's runs are its gates' and their re-runs, bounded by
    `limits.sessions_per_head`.
    """
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/commits/{ref}/check-runs{?filter,app_id,per_page}",
        url_vars={
            "owner": repo.owner,
            "repo": repo.name,
            "ref": head_sha,
            "filter": "all",
            "app_id": str(app_id),
            "per_page": "100",
        },
    )
    runs = [CheckRun.model_validate(item) for item in data["check_runs"]]
    mine = [r for r in runs if r.app is None or r.app.id == app_id]
    return sorted(mine, key=lambda r: r.id, reverse=True)


async def get_run(gh: GitHubAPI, repo: Repository, run_id: int) -> CheckRun:
    data: Any = await gh.getitem(
        "/repos/{owner}/{repo}/check-runs/{id}",
        url_vars={"owner": repo.owner, "repo": repo.name, "id": str(run_id)},
    )
    return CheckRun.model_validate(data)


async def create_run(
    gh: GitHubAPI,
    repo: Repository,
    head_sha: str,
    *,
    external_id: str,
    name: str = CHECK_NAME,
    status: str = "queued",
    details_url: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> CheckRun:
    """Create a check run; `fields` may conclude it at once (conclusion, output, actions)."""
    body: dict[str, Any] = {"name": name, "head_sha": head_sha, "external_id": external_id}
    body.update(fields if fields else {"status": status})
    if details_url:
        body["details_url"] = details_url
    data: Any = await gh.post(
        "/repos/{owner}/{repo}/check-runs",
        url_vars={"owner": repo.owner, "repo": repo.name},
        data=body,
    )
    return CheckRun.model_validate(data)


async def mark_in_progress(
    gh: GitHubAPI, repo: Repository, run_id: int, *, details_url: str | None
) -> None:
    body: dict[str, Any] = {"status": "in_progress"}
    if details_url:
        body["details_url"] = details_url
    await _patch(gh, repo, run_id, body)


async def conclude(
    gh: GitHubAPI, repo: Repository, run_id: int, result: CheckRunResult, *, already: int = 0
) -> None:
    """Write the verdict: annotations by 50, concluding with the last batch.

    `already` is how many annotations the run holds from an interrupted earlier attempt.
    """
    for body in result.payloads(already=already):
        await _patch(gh, repo, run_id, body)


async def conclude_new(
    gh: GitHubAPI,
    repo: Repository,
    head_sha: str,
    result: CheckRunResult,
    *,
    name: str = CHECK_NAME,
    external_id: str,
    details_url: str | None = None,
) -> CheckRun:
    """Post a new, concluded check run (a waiver's recomputed verdict, the structure check)."""
    first, *rest = result.payloads()
    run = await create_run(
        gh,
        repo,
        head_sha,
        external_id=external_id,
        name=name,
        details_url=details_url,
        fields=first,
    )
    for extra in rest:
        await _patch(gh, repo, run.id, extra)
    return run


async def ensure_concluded(
    gh: GitHubAPI,
    repo: Repository,
    head_sha: str,
    result: CheckRunResult,
    *,
    app_id: int,
    external_id: str,
    name: str = CHECK_NAME,
    details_url: str | None = None,
) -> bool:
    """Post a concluded run once per `external_id`; finish one a failed attempt left open.

    Returns False when an earlier attempt had already concluded it (a redelivery).
    """
    mine = [
        r for r in await list_runs(gh, repo, head_sha, app_id, name) if r.external_id == external_id
    ]
    if mine and mine[0].status == "completed":
        return False
    if mine:
        await conclude(gh, repo, mine[0].id, result, already=mine[0].output.annotations_count)
    else:
        await conclude_new(
            gh, repo, head_sha, result, name=name, external_id=external_id, details_url=details_url
        )
    return True


async def _patch(gh: GitHubAPI, repo: Repository, run_id: int, body: dict[str, Any]) -> None:
    await gh.patch(
        "/repos/{owner}/{repo}/check-runs/{id}",
        url_vars={"owner": repo.owner, "repo": repo.name, "id": str(run_id)},
        data=body,
    )
