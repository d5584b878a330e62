"""The `canon-gate` check over several gates: concluded from each gate's newest verdict, after a
completion or a waiver changed one; and a gate that waited for a need starts once it passes.

A repository without `gates` never comes here: its `canon-gate` run is its one gate's verdict.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from gidgethub.abc import GitHubAPI

from action.config import AppConfig
from action.report import DEFAULT_GATE
from app.edge import checks
from app.edge.context import Context
from app.events import Repository
from app.flows.start import start_audit
from app.judge.conclude import Governance
from app.judge.correlate import AuditKey, trigger_of
from app.judge.gates import GateVerdict, aggregate, gates_of, newest_verdicts, ready_to_run
from app.judge.links import Links

log = logging.getLogger(__name__)
_NO_LINKS = Links()


async def verdicts_now(
    ctx: Context, gh: GitHubAPI, repo: Repository, key: AuditKey, governance: Governance
) -> list[GateVerdict]:
    """Each gate's newest verdict on the head for this PR, under its own governance key."""
    gates = gates_of(governance.config)
    runs = await checks.list_all_runs(gh, repo, key.head_sha, ctx.github_app.app_id)
    keys = {gate: governance.for_gate(gate).key for gate in gates}
    return newest_verdicts(runs, gates, pr=key.pr, keys=keys)


async def conclude_aggregate(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    key: AuditKey,
    governance: Governance,
    *,
    cause: str,
    anchor_id: int | None = None,
    links: Links = _NO_LINKS,
) -> str:
    """Conclude `canon-gate` over the gates (the run `anchor_id`, else a new run keyed `key`),
    then start the gates that waited for a need that passes now; return the conclusion.

    `cause` names what changed a gate (a check run, a comment): a gate it makes ready starts
    once per cause, however often the delivery comes.
    """
    verdicts = await verdicts_now(ctx, gh, repo, key, governance)
    result = aggregate(verdicts, links, advisory=governance.config.mode == "advisory")
    anchor = replace(key, gate="", check=None, governance=governance.for_gate(DEFAULT_GATE).key)
    if anchor_id is not None:
        await checks.conclude(gh, repo, anchor_id, result)
    else:
        await checks.ensure_concluded(
            gh,
            repo,
            key.head_sha,
            result,
            app_id=ctx.github_app.app_id,
            external_id=anchor.external_id,
        )
    await _start_waiting(ctx, gh, repo, anchor, verdicts, governance.config, cause)
    return result.conclusion


async def _start_waiting(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    anchor: AuditKey,
    verdicts: list[GateVerdict],
    config: AppConfig,
    cause: str,
) -> None:
    for gate in ready_to_run(verdicts, config):
        trigger = trigger_of(f"need-{cause}-{gate}")
        rerun = replace(anchor, gate=gate, trigger=trigger)
        log.info("gates.need_passed", extra={"repo": repo.full_name, "gate": gate})
        await start_audit(ctx, gh, repo, rerun, rerun=True, approved=True)
