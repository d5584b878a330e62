"""Conclude a finished audit: the one pure decision behind `workflow_run.completed`.

The handler fetches the artifact, the check run, the base's config and the PR's ledger, calls
`conclude` once, and writes what it returns: the check run's result, the ledger record, the
structure check run and the lifecycle comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from action.config import AppConfig
from action.governance import Governs, governance_key
from action.report import DEFAULT_GATE, Report, check_name
from app.events import CheckRun, Repository, WorkflowRun
from app.judge import comment, outcomes, verdict
from app.judge.artifact import ArtifactProblem, UnsupportedSchema
from app.judge.checkrun import CheckRunResult
from app.judge.correlate import check_run_id_of, parse_external_id
from app.judge.lifecycle import compare
from app.judge.links import Links
from app.judge.structure import structure_result
from app.ledger.records import AuditRecord, History, audit_record

# Why the job that runs a gate, having ended so, could not judge.
_FAILED_JOB = {
    "failure": "the audit job failed before it wrote a report",
    "cancelled": "the audit job was cancelled",
    "timed_out": "the audit job timed out",
    "startup_failure": "the audit workflow could not start",
    "action_required": "the audit workflow is waiting for approval to run",
    "stale": "the audit workflow went stale",
    "skipped": "the audit job was skipped",
    "in_progress": "the audit job had not finished when the workflow run ended",
}


@dataclass(frozen=True)
class Finished:
    """What the handler fetched about one finished run of the audit workflow."""

    repo: Repository
    workflow_run: WorkflowRun
    check_run: CheckRun
    # The validated report, or why the artifact could not give one.
    report: Report | ArtifactProblem
    # The PR as GitHub sees it now; None when the report names no PR.
    pull: PullNow | None = None
    # The gate this check run concludes, and how the job that may judge it ended (None: the
    # run had no such job, `app.judge.gates.judging_job`).
    gate: str = DEFAULT_GATE
    job: str | None = "success"


@dataclass(frozen=True)
class PullNow:
    """The audited PR as GitHub sees it when the audit finishes."""

    head_sha: str
    base_ref: str
    # The governance key of the PR's base tip now, computed by the App.
    key: str
    # What governs the base tip now, to key it for another gate (None: keyed already).
    governs: Governs | None = None

    def for_gate(self, gate: str) -> PullNow:
        if self.governs is None:
            return self
        return replace(self, key=governance_key(replace(self.governs, gate=gate)))


@dataclass(frozen=True)
class Governance:
    """The base's config and the PR's ledger, as read for this audit."""

    config: AppConfig = field(default_factory=AppConfig)
    # The governance key at the report's base, computed by the App ("" when not read).
    key: str = ""
    # None when the ledger is off or could not be read (`notes` then say why).
    history: History | None = None
    notes: tuple[str, ...] = ()
    # What governs at the base, to key it for another gate (None: keyed already).
    governs: Governs | None = None

    def for_gate(self, gate: str) -> Governance:
        """The same governance keyed for one gate: each gate's verdict has its own key."""
        if self.governs is None:
            return self
        return replace(self, key=governance_key(replace(self.governs, gate=gate)))


@dataclass(frozen=True)
class Outcome:
    """Everything a finished audit writes."""

    result: CheckRunResult
    # The PR the audit judged, when known.
    pr: int | None = None
    # The ledger record to commit; None when the ledger is off or already holds it.
    record: AuditRecord | None = None
    # The `canon-gate/structure` check run, when the structural check ran.
    structure: CheckRunResult | None = None
    # The lifecycle comment's body, when the config asks for one.
    comment: str | None = None


def belongs(report: Report, check_run: CheckRun, workflow_run_id: int) -> bool:
    """Tell whether a report was written for this check run, by this workflow run."""
    info = report.run
    if info.head_sha and info.head_sha != check_run.head_sha:
        return False
    key = parse_external_id(check_run.external_id)
    if key is not None and key.base_sha and info.base_sha != key.base_sha:
        # The App chose the governing base when it dispatched; nothing else may choose it.
        return False
    # A gate's report names the `canon-gate` run the dispatch named, which its run belongs to.
    named = key.check if key is not None and key.check is not None else check_run.id
    if info.check_run_id is not None and info.check_run_id != named:
        return False
    return info.workflow_run_id is None or info.workflow_run_id == workflow_run_id


def usable_report(finished: Finished, key: str, *, manual: bool) -> Report | str:
    """The report that may judge this check run, or why there is none.

    Only a job that concluded `success` judges: a failed, cancelled or timed-out job may have
    uploaded a stale `report.json`. The report must be governed by the key the App computed for
    the base it names, and that key must still govern the PR now; a manual run must also have
    judged the PR's current head.
    """
    run, report, pull = finished.workflow_run, finished.report, finished.pull
    if finished.job is None:
        return (
            f"the workflow run has no job for `{check_name(finished.gate)}`; the repository's "
            "workflow may be older than this App (`canon-gate init --force` writes the current one)"
        )
    if finished.job != "success":
        # A failed job means the audit did not run to completion: say why it ended.
        return _FAILED_JOB.get(finished.job, f"the audit job ended {finished.job}")
    if isinstance(report, ArtifactProblem):
        return str(report)
    if not belongs(report, finished.check_run, run.id):
        return "the report does not belong to this check run (SHA or id mismatch)"
    if report.run.gate != finished.gate:
        return f"the report is for gate `{report.run.gate}`, not `{finished.gate}`"
    base = (report.run.base_sha or "unknown")[:7]
    dispatched = parse_external_id(finished.check_run.external_id)
    if report.run.governance_key != key or (dispatched and dispatched.governance not in ("", key)):
        return (
            f"the report's governance key ({report.run.governance_key or 'none'}) is not the one "
            f"the App computed for its base {base} ({key or 'none'})"
        )
    if pull is None:
        return "the report names no pull request, so nothing says what governs it now"
    if manual and report.run.head_sha != pull.head_sha:
        return (
            f"the manual run judged {(report.run.head_sha or 'unknown')[:7]}, not the pull "
            f"request's current head {pull.head_sha[:7]}"
        )
    if key != pull.key and manual:
        return (
            f"the manual run was governed by {base}, whose config or canon differ from what "
            f"governs the pull request's base `{pull.base_ref}` now"
        )
    if key != pull.key:
        return (
            f"what governs the pull request changed since this audit: it was judged against "
            f"`{pull.base_ref}` at {base}, and the config or canon of `{pull.base_ref}` is "
            "different now"
        )
    return report


def conclude(
    finished: Finished,
    governance: Governance,
    links: Links,
    *,
    workflow_file: str = outcomes.DEFAULT_WORKFLOW_FILE,
) -> Outcome:
    """Decide everything a finished audit writes, from what was fetched."""
    if isinstance(finished.report, UnsupportedSchema):
        version = finished.report.version
        return Outcome(
            outcomes.unsupported_schema(version, workflow_file=workflow_file, links=links)
        )
    manual = check_run_id_of(finished.workflow_run.display_title) is None
    report = usable_report(finished, governance.key, manual=manual)
    if isinstance(report, str):
        return Outcome(outcomes.not_evaluated(report, links=links, notes=governance.notes))
    check_run, history = finished.check_run, governance.history
    key = parse_external_id(check_run.external_id)
    pr = report.run.pr or (key.pr if key else None)
    waivers = history.waivers_in_force() if history else {}
    previous = history.previous(check_run.id, finished.gate) if history else None
    lifecycle = (
        compare(previous.report if previous else None, report, waivers)
        if report.evaluated
        else None
    )
    notes = (*governance.notes, *outcomes.caller_notes(report.run.caller_version))
    if report.out_of_scope:
        judged, result = None, outcomes.not_in_scope(finished.gate, links=links, notes=notes)
    elif report.evaluated:
        judged = verdict.assess(report, waivers, lifecycle)
        result = verdict.render_verdict(
            report, judged, lifecycle=lifecycle is not None, links=links, notes=notes
        )
        if governance.config.mode == "advisory":
            result = outcomes.advisory(result)
    else:
        judged, result = None, verdict.decide(report, links=links, notes=notes)
    record = None
    if (
        governance.config.ledger
        and pr is not None
        and not (history and history.recorded(check_run.id))
    ):
        record = audit_record(
            report,
            repo=finished.repo.full_name,
            conclusion=result.conclusion,
            blocking=judged.blocking if judged else (),
            cosmetic=judged.cosmetic if judged else 0,
            waived=judged.waived if judged else (),
            pr=pr,
            head_sha=check_run.head_sha,
            base_sha=report.run.base_sha or (key.base_sha if key else None),
            governance_key=governance.key,
            check_run_id=check_run.id,
            workflow_run_id=finished.workflow_run.id,
            advisory=governance.config.mode == "advisory",
        )
    body = None
    if governance.config.comment and pr is not None and lifecycle is not None:
        body = comment.render(
            lifecycle,
            conclusion=result.conclusion,
            head_sha=check_run.head_sha,
            waivers=waivers,
            details_url=links.workflow_run_url,
        )
    return Outcome(result, pr, record, structure_result(report, links=links), body)
