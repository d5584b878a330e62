"""Conclude an audit with its governance: waivers, lifecycle, the ledger and the structure check.

The ledger is the memory: the previous audit and the waivers of a PR are read from it, and the new
verdict is written to it. If the ledger refuses the write, the verdict stands and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from gidgethub.abc import GitHubAPI

from action.config import AppConfig
from action.report import Report
from app.edge import checks
from app.edge.auth import COMMENT
from app.edge.context import Context
from app.edge.repos import read_config
from app.events import CheckRun, Repository, WorkflowRun
from app.judge import comment, verdict
from app.judge.checkrun import STRUCTURE_CHECK_NAME, CheckRunResult
from app.judge.correlate import parse_external_id
from app.judge.lifecycle import Lifecycle, compare
from app.ledger import records, store
from app.ledger.records import Waiver

log = logging.getLogger(__name__)


async def load_history(
    gh: GitHubAPI, repo: Repository, pr: int, config: AppConfig, notes: list[str]
) -> records.History | None:
    """Read the PR's ledger, or None when it is off; a read failure becomes a summary note."""
    if not config.ledger:
        return None
    try:
        return await store.read_history(gh, repo.full_name, pr)
    except store.LedgerError as exc:
        notes.append(f"The ledger could not be read, so waivers and history are missing: {exc}")
        log.warning("ledger.unreadable", extra={"repo": repo.full_name, "pr": pr})
        return None


def judge(
    report: Report,
    previous: Report | None,
    waivers: Mapping[str, Waiver],
    *,
    links: verdict.Links,
    notes: Sequence[str] = (),
) -> tuple[CheckRunResult, Lifecycle | None]:
    """The pure step: the lifecycle against the previous audit, then the verdict."""
    lifecycle = compare(previous, report, waivers) if report.evaluated else None
    result = verdict.decide(report, waivers=waivers, lifecycle=lifecycle, links=links, notes=notes)
    return result, lifecycle


async def conclude_with_report(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    check_run: CheckRun,
    report: Report,
    *,
    workflow_run: WorkflowRun,
    links: verdict.Links,
    installation_id: int,
) -> CheckRunResult:
    key = parse_external_id(check_run.external_id)
    pr = report.run.pr or (key.pr if key else None)
    base_ref = report.run.base_sha or (key.base_sha if key else "") or repo.default_branch
    config, config_problem = await read_config(gh, repo, base_ref)
    notes = (
        [f"`.github/canon-gate.yml` is invalid, defaults apply: {config_problem}"]
        if (config_problem)
        else []
    )
    history = await load_history(gh, repo, pr, config, notes) if pr is not None else None
    waivers = history.waivers_in_force() if history else {}
    # On a redelivery this audit may already be recorded: compare with the one before it.
    earlier = [a for a in history.audits if a.check_run_id != check_run.id] if history else []
    previous = earlier[0].report if earlier else None
    result, lifecycle = judge(report, previous, waivers, links=links, notes=notes)

    recorded = history is not None and any(a.check_run_id == check_run.id for a in history.audits)
    if config.ledger and pr is not None and not recorded:
        try:
            record = records.audit_record(
                report,
                repo=repo.full_name,
                conclusion=result.conclusion,
                pr=pr,
                head_sha=check_run.head_sha,
                base_sha=report.run.base_sha or (key.base_sha if key else None),
                check_run_id=check_run.id,
                workflow_run_id=workflow_run.id,
                waived=sorted(w for w in waivers if w in {f.id for f in report.findings}),
            )
            await store.write_record(gh, repo.full_name, record)
        except store.LedgerError as exc:
            # The verdict stands; the summary says the record is missing and why. No loop.
            log.warning("ledger.write_refused", extra={"repo": repo.full_name, "pr": pr})
            notes.append(f"The ledger record could not be written: {exc}")
            result, _ = judge(report, previous, waivers, links=links, notes=notes)
    # Purely structural: its own check run, posted once, before the verdict completes the audit.
    structure = verdict.structure_result(report, links=links)
    if structure is not None:
        await post_structure(ctx, gh, repo, check_run, structure, links)
    await checks.conclude(
        gh, repo, check_run.id, result, already=check_run.output.annotations_count
    )

    if config.comment and pr is not None and lifecycle is not None:
        body = comment.render(
            lifecycle,
            conclusion=result.conclusion,
            head_sha=check_run.head_sha,
            waivers=waivers,
            details_url=links.workflow_run_url,
        )
        # Its own token: only this optional step may write to the PR's conversation.
        commenter = await ctx.client(installation_id, repo.id, COMMENT)
        await upsert_comment(ctx, commenter, repo, pr, body)

    return result


async def upsert_comment(ctx: Context, gh: GitHubAPI, repo: Repository, pr: int, body: str) -> None:
    """Edit the App's own lifecycle comment in place, or post it the first time."""
    url_vars = {"owner": repo.owner, "repo": repo.name, "number": str(pr)}
    existing = [
        comment.ExistingComment.from_api(item)
        async for item in gh.getiter(
            "/repos/{owner}/{repo}/issues/{number}/comments{?per_page}",
            url_vars={**url_vars, "per_page": "100"},
        )
    ]
    choice = comment.choose(existing, await ctx.github_app.slug(deadline=ctx.deadline))
    if isinstance(choice, comment.Update):
        await gh.patch(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            url_vars={**url_vars, "id": str(choice.comment_id)},
            data={"body": body},
        )
    else:
        await gh.post(
            "/repos/{owner}/{repo}/issues/{number}/comments", url_vars=url_vars, data={"body": body}
        )


async def post_structure(
    ctx: Context,
    gh: GitHubAPI,
    repo: Repository,
    check_run: CheckRun,
    result: CheckRunResult,
    links: verdict.Links,
) -> None:
    """Post the `canon-gate/structure` run of this audit once, even across redeliveries."""
    await checks.ensure_concluded(
        gh,
        repo,
        check_run.head_sha,
        result,
        app_id=ctx.github_app.app_id,
        external_id=f"{check_run.external_id}:check={check_run.id}",
        name=STRUCTURE_CHECK_NAME,
        details_url=links.workflow_run_url,
    )
