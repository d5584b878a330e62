"""Every check an audit posts, together: `canon-gate`, each gate's run, `canon-gate/structure`.

A ruleset may require any of them, and a required check that never reports stalls the merge (a
merge queue's too). So they are created together, found again together after a restart, and
concluded together when no session will judge them. At a start the anchor, `canon-gate`, comes
first and is marked in progress last; the others are made in between, once the workflow is
dispatched, already in progress at its run (a required check not yet posted blocks the merge
as a queued one does, and each costs one call instead of two).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gidgethub.abc import GitHubAPI

from action.config import AppConfig
from action.report import DEFAULT_GATE, STRUCTURE, check_name
from app.edge import checks
from app.edge.context import Context
from app.edge.governs import AtBase
from app.events import CheckRun, Repository
from app.judge.checkrun import ACTIVE, CheckRunResult
from app.judge.correlate import AuditKey, parse_external_id
from app.judge.gates import gates_of


def gates_for(config: AppConfig, key: AuditKey) -> tuple[str, ...]:
    """The gates that get their own check run in this audit: none without `gates`; else every
    gate, or the one a re-run names."""
    if not config.gates:
        return ()
    names = gates_of(config)
    return (key.gate,) if key.gate in names else names


def companion_key(key: AuditKey, name: str, anchor_id: int, at_base: AtBase) -> AuditKey:
    """The key of a gate's run (its own governance key) or the structure check's (the anchor's)."""
    governance = key.governance if name == STRUCTURE else at_base.key_for(name)
    return key.of_gate(name, anchor_id, governance)


async def open_companions(
    gh: GitHubAPI,
    ctx: Context,
    repo: Repository,
    anchor: CheckRun,
    key: AuditKey,
    at_base: AtBase,
    gates: Sequence[str],
    *,
    resumed: bool,
    details_url: str | None,
    result: CheckRunResult | None = None,
) -> None:
    """Each gate's run and the structure check's under `anchor`, once the workflow is
    dispatched: each created in progress at the workflow run (one call, where queued and then
    started took two), or concluded with `result` when nothing was dispatched.

    They are created before the anchor is marked in progress, so a start that fails in between
    is resumed (the anchor is still queued) and finds the ones it made.
    """
    names = (*gates, STRUCTURE)
    existing: dict[str, CheckRun] = {}
    if resumed:
        for run in await checks.list_all_runs(gh, repo, key.head_sha, ctx.github_app.app_id):
            found = parse_external_id(run.external_id)
            if found is not None and found.check == anchor.id:
                existing.setdefault(found.gate, run)
    for name in names:
        external_id = companion_key(key, name, anchor.id, at_base).external_id
        made = existing.get(name)
        if made is None:
            await _open(gh, repo, key.head_sha, name, external_id, details_url, result)
        elif made.status in ACTIVE:
            await _catch_up(gh, repo, made, details_url, result)


async def _open(
    gh: GitHubAPI,
    repo: Repository,
    head_sha: str,
    name: str,
    external_id: str,
    details_url: str | None,
    result: CheckRunResult | None,
) -> None:
    """Create one companion run: in progress at the workflow run, or concluded with `result`."""
    if result is not None:
        await checks.conclude_new(
            gh, repo, head_sha, result, name=check_name(name), external_id=external_id
        )
        return
    await checks.create_run(
        gh,
        repo,
        head_sha,
        external_id=external_id,
        name=check_name(name),
        status="in_progress",
        details_url=details_url,
    )


async def _catch_up(
    gh: GitHubAPI,
    repo: Repository,
    run: CheckRun,
    details_url: str | None,
    result: CheckRunResult | None,
) -> None:
    """Bring a companion an earlier attempt made (queued, by an older start) to where it goes."""
    if result is not None:
        await checks.conclude(gh, repo, run.id, result, already=run.output.annotations_count)
    elif run.status != "in_progress" or run.details_url != details_url:
        await checks.mark_in_progress(gh, repo, run.id, details_url=details_url)


async def post_concluded(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    key: AuditKey,
    at_base: AtBase,
    result_of: Callable[[str], CheckRunResult],
) -> CheckRun:
    """Post every check of the audit `key` concluded, once per key (a redelivery finds them).

    `result_of` gives each its result: `canon-gate` (the default gate), each gate, `structure`.
    Runs a failed attempt left open are concluded; concluded ones are left alone.
    """
    existing = await checks.list_all_runs(gh, repo, key.head_sha, ctx.github_app.app_id)

    async def post(name: str, external_id: str) -> CheckRun:
        result = result_of(name)
        found = next((r for r in existing if r.external_id == external_id), None)
        if found is None:
            return await checks.conclude_new(
                gh, repo, key.head_sha, result, name=check_name(name), external_id=external_id
            )
        if found.status in ACTIVE:
            await checks.conclude(
                gh, repo, found.id, result, already=found.output.annotations_count
            )
        return found

    anchor = await post(DEFAULT_GATE, key.external_id)
    for name in (*gates_for(at_base.config, key), STRUCTURE):
        await post(name, companion_key(key, name, anchor.id, at_base).external_id)
    return anchor
