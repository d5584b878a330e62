"""Conclude audits when the workflow run completes: fetch, call `judge.conclude` once, write.

Correlation never guesses: the run's `display_title` names the check run, and the check run's
`details_url` names the one workflow run it waits for. A run started by hand names no check run;
it gets one on the PR head SHA recorded in its report.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gidgethub import BadRequest, sansio
from gidgethub.abc import GitHubAPI
from gidgethub.routing import Router

from action.report import (
    ARTIFACT_NAME,
    DEFAULT_GATE,
    PLAN_JOB,
    STRUCTURE,
    Report,
    artifact_name,
    check_name,
)
from app.edge import checks, metrics
from app.edge.actions import job_conclusions
from app.edge.artifacts import Listed, fetch_report, list_artifacts
from app.edge.auth import COMMENT, CONCLUDE_AUDIT
from app.edge.context import Context
from app.edge.conversation import upsert_comment
from app.edge.governs import read_at_base
from app.edge.repos import get_pull
from app.events import CheckRun, Repository, WorkflowRun, WorkflowRunEvent
from app.flows.conjunction import post_conjunction
from app.flows.gates import conclude_aggregate
from app.flows.governance import read_governance
from app.flows.suggest import offer
from app.judge import requirable
from app.judge.artifact import ArtifactProblem, UnsupportedSchema
from app.judge.checkrun import CHECK_NAME, STRUCTURE_CHECK_NAME, CheckRunResult
from app.judge.conclude import (
    Finished,
    Governance,
    Outcome,
    PullNow,
    belongs,
    conclude,
    usable_report,
)
from app.judge.correlate import (
    AuditKey,
    branch_problem,
    check_run_id_of,
    is_audit_workflow,
    parse_external_id,
    untrusted,
    workflow_run_id_of,
)
from app.judge.gates import gates_of, judging_job
from app.judge.links import Links
from app.judge.structure import structure_result
from app.ledger import store

log = logging.getLogger(__name__)
router = Router()


@router.register("workflow_run", action="completed")
async def on_workflow_run(event: sansio.Event, ctx: Context) -> None:
    ev = WorkflowRunEvent.model_validate(event.data)
    run, repo = ev.workflow_run, ev.repository
    if not is_audit_workflow(run, ctx.settings.workflow_file):
        return
    fields = {"delivery_id": ctx.delivery_id, "repo": repo.full_name, "workflow_run_id": run.id}
    reason = untrusted(run, repo)
    if reason is not None:
        # Never conclude anything from it, not even a failure: it is not our audit.
        log.warning("completion.untrusted_run", extra={**fields, "reason": reason})
        return
    gh = await ctx.client(ev.installation.id, repo.id, CONCLUDE_AUDIT)
    listed = await list_artifacts(gh, repo, run.id)
    manual = check_run_id_of(run.display_title) is None
    if manual and (problem := await _branch_problem(gh, repo, run, manual=True)):
        log.warning("completion.untrusted_run", extra={**fields, "reason": problem})
        return
    reports = _Reports(gh, ctx, listed)
    # A manual run names no check run: its first report (any gate's) names the PR and head.
    named_by = await reports.first() if manual else None
    check_run = await _check_run_for(gh, ctx, repo, run, named_by)
    if check_run is None:
        log.warning("completion.uncorrelated", extra=fields)
        return
    fields["check_run_id"] = check_run.id
    if check_run.status == "completed":
        log.info("completion.already_concluded", extra=fields)
        return
    # A run the App's dispatch did not name (an older GHES): prove it ran the default branch.
    unnamed = not manual and workflow_run_id_of(check_run.details_url) != run.id
    if unnamed and (problem := await _branch_problem(gh, repo, run, manual=False)):
        log.warning("completion.untrusted_run", extra={**fields, "reason": problem})
        return
    key = parse_external_id(check_run.external_id) or AuditKey(0, check_run.head_sha)
    governance, pull = Governance(), None
    pr = key.pr or None
    if key.base_sha:
        # What governed the audit's base, and what governs the PR now: both computed here.
        try:
            governance = await read_governance(
                gh, repo, pr, key.base_sha, ctx.github_app.seal, cache=ctx.governs
            )
        except BadRequest as exc:
            if int(exc.status_code) not in (404, 422):
                raise
            # A base GitHub does not know: no key, so no report can judge.
            log.warning("completion.unknown_base", extra={**fields, "base_sha": key.base_sha})
    if key.group:
        # A merge group is judged as it is: its head against its base, nothing newer.
        pull = _group_now(key, governance)
    elif pr is not None:
        pull = await pull_now(gh, ctx, repo, pr)
    links = Links(workflow_run_url=run.html_url or None, artifact_url=_artifact_link(run))
    done = _Completion(
        ctx, gh, repo, run, check_run, key, governance, pull, links, ev.installation.id
    )
    jobs = await job_conclusions(gh, repo, run.id)
    config = governance.config
    gates = gates_of(config)
    judged: list[str] = []  # the gates a usable report judged: their fixes are offered last
    if not config.gates:
        # One gate: `canon-gate` is its own check run.
        outcome, usable = await _conclude_gate(done, reports, jobs, DEFAULT_GATE, check_run)
        if usable:
            judged.append(DEFAULT_GATE)
        result = outcome.result
        await _post_structure(
            done,
            reports,
            jobs,
            audit=(result.conclusion, result.title),
            fallback=outcome if usable else None,
        )
        conclusion: str = outcome.result.conclusion
    else:
        wanted = (key.gate,) if key.gate else gates
        mine = await _gate_runs(done, wanted)
        for gate in wanted:
            if mine[gate].status != "completed":
                _, usable = await _conclude_gate(done, reports, jobs, gate, mine[gate])
                if usable:
                    judged.append(gate)
        conclusion = await conclude_aggregate(
            ctx,
            gh,
            repo,
            key,
            governance,
            cause=f"run{check_run.id}",
            anchor_id=check_run.id,
            links=links,
        )
        said = f"`{CHECK_NAME}` concluded {conclusion}"
        await _post_structure(done, reports, jobs, audit=(conclusion, said))
    for name in (CHECK_NAME, *(check_name(g) for g in (config.gates and gates) or ())):
        await post_conjunction(
            ctx, gh, repo, check_run.head_sha, after=check_run.id, links=links, name=name
        )
    await _offer_fixes(done, reports, judged)
    metrics.AUDITS.labels(conclusion=conclusion).inc()
    log.info("completion.concluded", extra={**fields, "conclusion": conclusion})


@dataclass(frozen=True)
class _Completion:
    """What every gate of one finished workflow run is concluded against."""

    ctx: Context
    gh: GitHubAPI
    repo: Repository
    run: WorkflowRun
    # The run's `canon-gate` check run: the one the dispatch named.
    anchor: CheckRun
    key: AuditKey
    governance: Governance
    pull: PullNow | None
    links: Links
    installation_id: int


class _Reports:
    """The run's reports, each downloaded at most once."""

    def __init__(self, gh: GitHubAPI, ctx: Context, listed: dict[str, Listed]) -> None:
        self._gh, self._ctx, self._listed = gh, ctx, listed
        self._got: dict[str, Report | ArtifactProblem] = {}

    def has(self, gate: str) -> bool:
        return artifact_name(gate) in self._listed

    async def of(self, gate: str) -> Report | ArtifactProblem:
        if gate not in self._got:
            try:
                self._got[gate] = await fetch_report(self._gh, self._ctx.http, self._listed, gate)
            except ArtifactProblem as exc:
                self._got[gate] = exc
        return self._got[gate]

    async def first(self) -> Report | ArtifactProblem:
        """The default gate's report, else any gate's: a manual run's PR and head."""
        names = sorted(self._listed)
        for gate in (DEFAULT_GATE, *(n.removeprefix(ARTIFACT_NAME + "-") for n in names)):
            if gate != STRUCTURE and self.has(gate):
                return await self.of(gate)
        return ArtifactProblem(f"the workflow run uploaded no `{ARTIFACT_NAME}` artifact")


async def _conclude_gate(
    done: _Completion,
    reports: _Reports,
    jobs: dict[str, str | None],
    gate: str,
    gate_run: CheckRun,
) -> tuple[Outcome, bool]:
    """Conclude one gate's check run from its own job's report; record it; return the outcome,
    and whether a usable report judged it."""
    ctx, gh, repo = done.ctx, done.gh, done.repo
    report = await reports.of(gate)
    job = judging_job(gate, jobs)
    pull = done.pull.for_gate(gate) if done.pull is not None else None
    finished = Finished(repo, done.run, gate_run, report, pull, gate=gate, job=job)
    governance = done.governance.for_gate(gate)
    manual = check_run_id_of(done.run.display_title) is None
    usable = not isinstance(report, UnsupportedSchema) and isinstance(
        usable_report(finished, governance.key, manual=manual), Report
    )
    group = done.key.group

    def decide(governance: Governance) -> Outcome:
        outcome = conclude(
            finished, governance, done.links, workflow_file=ctx.settings.workflow_file
        )
        if done.governance.config.gates is not None or group:
            # One comment per PR: with several gates it would say only the last gate's findings,
            # and a merge group's verdict is not the PR's.
            outcome = replace(outcome, comment=None)
        if group and outcome.record is not None:
            # The group's record goes in the PR's own folder for groups (`records.record_path`).
            outcome = replace(outcome, record=outcome.record.model_copy(update={"group": group}))
        return outcome

    outcome = decide(governance)
    again: Callable[[], Awaitable[Outcome]] | None = None
    if governance.history is not None and done.key.pr and done.key.base_sha:
        pr, base = done.key.pr, done.key.base_sha

        async def again() -> Outcome:
            # The ledger moved between our read and our write (a waiver, most likely): judge
            # again with what it holds now, so a waiver recorded meanwhile counts.
            now = await read_governance(gh, repo, pr, base, ctx.github_app.seal, cache=ctx.governs)
            return decide(now.for_gate(gate))

    await write(
        ctx,
        gh,
        finished,
        outcome,
        installation_id=done.installation_id,
        again=again,
        seen_tip=governance.history.tip if governance.history is not None else None,
    )
    return outcome, usable


async def _gate_runs(done: _Completion, wanted: Sequence[str]) -> dict[str, CheckRun]:
    """Each wanted gate's check run under this audit: the one the start made, or a new one (a
    manual run, or a start that stopped before making it)."""
    runs = await checks.list_all_runs(done.gh, done.repo, done.anchor.head_sha, _app(done))
    mine: dict[str, CheckRun] = {}
    for run in runs:  # newest first
        key = parse_external_id(run.external_id)
        if key is not None and key.check == done.anchor.id and key.gate in wanted:
            mine.setdefault(key.gate, run)
    for gate in wanted:
        if gate not in mine:
            mine[gate] = await checks.create_run(
                done.gh,
                done.repo,
                done.anchor.head_sha,
                external_id=done.key.of_gate(
                    gate, done.anchor.id, done.governance.for_gate(gate).key
                ).external_id,
                name=check_name(gate),
                status="in_progress",
                details_url=done.run.html_url or None,
            )
    return mine


async def _post_structure(
    done: _Completion,
    reports: _Reports,
    jobs: dict[str, str | None],
    *,
    audit: tuple[str, str],
    fallback: Outcome | None = None,
) -> None:
    """Post `canon-gate/structure` on every audited head, whatever the change touches.

    From the plan job's structure report (neutral when the change touched no canon); for a
    workflow older than that report, from the one gate's usable report (`fallback`); and
    otherwise with the audit's outcome (`audit`: its conclusion and title), never a pass.
    """
    links = done.links
    plan = jobs.get(PLAN_JOB)
    report = await reports.of(STRUCTURE) if reports.has(STRUCTURE) else None
    result: CheckRunResult | None = None
    if (
        isinstance(report, Report)
        and plan == "success"
        and belongs(report, done.anchor, done.run.id)
    ):
        result = structure_result(report, links=links) or requirable.no_canon_changed(links=links)
    elif fallback is not None and report is None:
        result = fallback.structure or requirable.no_canon_changed(links=links)
    if result is None:
        if report is None:
            reason = "the workflow run uploaded no structure report"
        elif plan != "success":
            reason = f"the plan job ended {plan or 'without a conclusion'}"
        elif isinstance(report, ArtifactProblem):
            reason = str(report)
        else:
            reason = "the structure report does not belong to this check run"
        result = requirable.structure_unchecked(reason, *audit, links=links)
    await checks.ensure_concluded(
        done.gh,
        done.repo,
        done.anchor.head_sha,
        result,
        app_id=_app(done),
        external_id=done.key.of_gate(STRUCTURE, done.anchor.id, done.key.governance).external_id,
        name=STRUCTURE_CHECK_NAME,
        details_url=done.run.html_url or None,
    )


async def _offer_fixes(done: _Completion, reports: _Reports, gates: Sequence[str]) -> None:
    """Offer the judged reports' suggested fixes on the PR (`flows.suggest`), once every verdict
    is written: only for a PR whose head is still the audited one (a newer audit is coming)."""
    pr, pull, head = done.key.pr, done.pull, done.anchor.head_sha
    if not done.governance.config.suggestions or done.key.group or not pr or pull is None:
        return
    if pull.head_sha != head:
        return
    audits = {g: r for g in gates if isinstance(r := await reports.of(g), Report)}
    await offer(
        done.ctx,
        installation_id=done.installation_id,
        repo=done.repo,
        pr=pr,
        head_sha=head,
        audits=audits,
        history=done.governance.history,
    )


def _app(done: _Completion) -> int:
    return done.ctx.github_app.app_id


async def write(
    ctx: Context,
    gh: GitHubAPI,
    finished: Finished,
    outcome: Outcome,
    *,
    installation_id: int,
    again: Callable[[], Awaitable[Outcome]] | None = None,
    seen_tip: str | None = None,
) -> None:
    """Write an outcome: the ledger record, the verdict, then the comment.

    The verdict was judged with the ledger at `seen_tip`. When the record's commit lands on a
    different parent, someone wrote in between (a waiver racing this completion) and `again`
    judges anew; the new record is already in, so only the verdict and comment are redone.
    """
    repo, check_run = finished.repo, finished.check_run
    result = outcome.result
    if outcome.record is not None:
        try:
            commit = await store.write_record(
                gh, repo.full_name, outcome.record, ctx.github_app.seal
            )
        except store.LedgerError as exc:
            # The verdict stands; the summary says the record is missing and why. No loop.
            log.warning("ledger.write_refused", extra={"repo": repo.full_name})
            result = result.with_note(f"The ledger record could not be written: {exc}")
        else:
            if again is not None and commit.parent != seen_tip:
                log.info("ledger.moved", extra={"repo": repo.full_name, "sha": commit.sha})
                moved = await again()
                outcome = replace(outcome, result=moved.result, comment=moved.comment)
                result = moved.result
    await checks.conclude(
        gh, repo, check_run.id, result, already=check_run.output.annotations_count
    )
    if outcome.comment is not None and outcome.pr is not None:
        # Its own token: only this optional step may write to the PR's conversation.
        commenter = await ctx.client(installation_id, repo.id, COMMENT)
        slug = await ctx.github_app.slug(deadline=ctx.deadline)
        await upsert_comment(commenter, repo, outcome.pr, outcome.comment, app_slug=slug)


async def _branch_problem(
    gh: GitHubAPI, repo: Repository, run: WorkflowRun, *, manual: bool
) -> str | None:
    """Read the default branch's tip (and, for a dispatched run, whether the run's commit is on
    it), then ask `judge.correlate.branch_problem`."""
    ref: Any = await gh.getitem(
        "/repos/{owner}/{repo}/git/ref/heads/{branch}",
        url_vars={"owner": repo.owner, "repo": repo.name, "branch": repo.default_branch},
    )
    tip = str(ref["object"]["sha"])
    on_branch = True
    if not manual and run.head_sha != tip:
        compared: Any = await gh.getitem(
            "/repos/{owner}/{repo}/compare/{basehead}",
            url_vars={
                "owner": repo.owner,
                "repo": repo.name,
                "basehead": f"{run.head_sha}...{tip}",
            },
        )
        on_branch = compared.get("status") in ("identical", "ahead")
    return branch_problem(run, manual=manual, default_tip=tip, on_default_branch=on_branch)


def _artifact_link(run: WorkflowRun) -> str | None:
    return f"{run.html_url}#artifacts" if run.html_url else None


async def _check_run_for(
    gh: GitHubAPI,
    ctx: Context,
    repo: Repository,
    run: WorkflowRun,
    report: Report | ArtifactProblem | None,
) -> CheckRun | None:
    """Find the check run this workflow run reports to, creating one for a manual run."""
    check_run_id = check_run_id_of(run.display_title)
    if check_run_id is not None:
        check_run = await checks.get_run(gh, repo, check_run_id)
        if check_run.app is not None and check_run.app.id != ctx.github_app.app_id:
            return None
        waiting_for = workflow_run_id_of(check_run.details_url)
        if waiting_for is not None and waiting_for != run.id:
            # A duplicate dispatch (two replicas at once): the check run waits for another run.
            return None
        return check_run
    if not isinstance(report, Report) or report.run.pr is None or not report.run.head_sha:
        # A manual run that wrote no report names no PR head: there is nothing to conclude.
        return None
    key = AuditKey(report.run.pr, report.run.head_sha, report.run.base_sha or "")
    for existing in await checks.list_runs(gh, repo, key.head_sha, ctx.github_app.app_id):
        if workflow_run_id_of(existing.details_url) == run.id:
            return existing
    return await checks.create_run(
        gh,
        repo,
        key.head_sha,
        external_id=key.external_id,
        status="in_progress",
        details_url=run.html_url or None,
    )


def _group_now(key: AuditKey, governance: Governance) -> PullNow:
    """A merge group as its audit judges it: the group's own head under its base's governance."""
    return PullNow(
        head_sha=key.head_sha,
        base_ref="the merge group's base",
        key=governance.key,
        governs=governance.governs,
    )


async def pull_now(gh: GitHubAPI, ctx: Context, repo: Repository, number: int) -> PullNow:
    """The PR's head now, and the governance key of its base tip now."""
    pull = await get_pull(gh, repo, number)
    at_base = await read_at_base(gh, repo, pull.base.sha, cache=ctx.governs)
    return PullNow(
        head_sha=pull.head.sha, base_ref=pull.base.ref, key=at_base.key, governs=at_base.governs
    )
