"""Conclude the gates of one finished workflow run: each gate's check run from its own job's
report, recorded in the ledger, then the structure check and the fixes offered as suggestions.

`app.flows.complete` correlates the run and reads what governs it; this module writes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from gidgethub.abc import GitHubAPI

from action.report import (
    ARTIFACT_NAME,
    DEFAULT_GATE,
    PLAN_JOB,
    STRUCTURE,
    Report,
    artifact_name,
    check_name,
)
from app.edge import checks
from app.edge.artifacts import Listed, fetch_report
from app.edge.auth import COMMENT
from app.edge.context import Context
from app.edge.conversation import upsert_comment
from app.events import CheckRun, Repository, WorkflowRun
from app.flows.governance import read_governance
from app.flows.suggest import offer
from app.judge import requirable
from app.judge.artifact import ArtifactProblem, UnsupportedSchema
from app.judge.checkrun import STRUCTURE_CHECK_NAME, CheckRunResult
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
    check_run_id_of,
    parse_external_id,
)
from app.judge.gates import judging_job
from app.judge.links import Links
from app.judge.structure import structure_result
from app.ledger import store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completion:
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


class Reports:
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


async def conclude_gate(
    done: Completion,
    reports: Reports,
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


async def gate_runs(done: Completion, wanted: Sequence[str]) -> dict[str, CheckRun]:
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


async def post_structure(
    done: Completion,
    reports: Reports,
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


async def offer_fixes(done: Completion, reports: Reports, gates: Sequence[str]) -> None:
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


def _app(done: Completion) -> int:
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
