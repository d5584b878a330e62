"""What action.yml runs: read the step's env once, then plan, run the hints, or audit one gate.

Plan mode (`CANON_GATE_MODE=plan`): the plan job, which holds no model credential, reads the
base's config, runs the structural check on the PR's canon changes (its report is
`CANON_GATE_REPORT`, for the `canon-gate-report-structure` artifact), and writes the step outputs
`first` and `later` (JSON lists of the gates each wave runs) and `hints` (`true` when hints are
configured). Exit status: 0 when the report and outputs were written, 1 otherwise.

Audit mode (the default): audit, write report.json and the job summary. Exit status: 0 whenever a
report was written, whatever its verdict (the App judges from the report); 1 only when no report
could be written, so a failed job means the audit did not run. A report already at the path is
removed first, so a run cut off midway leaves none behind.

Hints mode (`CANON_GATE_MODE=hints`): the hints job, which holds no model credential, runs the
configured hints and writes their results (`CANON_GATE_HINTS_FILE`) for the audit job to read as
data. It refuses to run with a model credential in its environment. Exit status: 0 when the
results were written, 1 otherwise.

Inputs (environment, set by action.yml from its inputs):
  CANON_GATE_MODE (`plan`, `hints` or `audit`), CANON_GATE_GATE (the gate this job audits; in
  plan mode, the one gate a re-run asks for), CANON_GATE_NEEDS_DIR (the needs' reports of this
  run), CANON_GATE_ONLY_GATE ("true" when the run audits one gate the App started alone),
  CANON_GATE_CALLER_VERSION, CANON_GATE_PR (required), CANON_GATE_HEAD_SHA,
  CANON_GATE_BASE_SHA, CANON_GATE_CHECK_RUN_ID,
  CANON_GATE_HEAD_PATH (the PR head checkout, default `.canon-gate/head`),
  CANON_GATE_MERGE_BASE_PATH / CANON_GATE_MERGE_BASE_SHA (the merge-base checkout the PR's diff is
  taken from; unset: the diff is taken from the base checkout at the workspace root),
  CANON_GATE_IS_FORK / CANON_GATE_APPROVED ("true" or not), CANON_GATE_REPORT (default
  `report.json`), CANON_GATE_HINTS_FILE (the hints job's results), CANON_GATE_BASE_REF;
  CLAUDE_CODE_OAUTH_TOKEN and/or ANTHROPIC_API_KEY (audit mode only);
  and GitHub's own GITHUB_WORKSPACE, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from action.audit.hints import hints_file, run_for
from action.audit.inputs import AuditInputs
from action.audit.plan import plan
from action.audit.runner import run_audit
from action.config import ConfigError, load_config
from action.report import DEFAULT_GATE, REPORT_FILENAME, Report, artifact_name
from action.sarif import installed_version, to_sarif
from action.session.environment import DEFAULT_PATH, holds_credential
from action.session.harness import Harness, SdkHarness
from action.summary import markdown

log = logging.getLogger(__name__)
HINTS_FILENAME = "hints.json"
MODES = ("audit", "hints", "plan")
GATE_NAME_RE = re.compile(r"[a-z0-9-]{1,40}")


def _int(value: str | None) -> int | None:
    value = (value or "").strip().lstrip("#")
    return int(value) if value.isdigit() else None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes"}


def context_of(env: Mapping[str, str]) -> dict[str, str]:
    """The run's context the plan job resolved (`CANON_GATE_CONTEXT`, JSON), or {} without one.

    Read as data: each value is a string, and the commit SHAs were checked by the step before.
    """
    raw = env.get("CANON_GATE_CONTEXT") or ""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"CANON_GATE_CONTEXT is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("CANON_GATE_CONTEXT must be a JSON object")
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int | bool)}


def inputs_from_env(env: Mapping[str, str]) -> AuditInputs:
    """Parse the step's environment into the audit's inputs (the plan's context first)."""
    context = context_of(env)

    def value(key: str, name: str) -> str | None:
        return context.get(key) or env.get(name) or None

    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    head = workspace / (env.get("CANON_GATE_HEAD_PATH") or ".canon-gate/head")
    # The workflow always checks the merge-base out beside the head; older callers named it.
    merge_base = env.get("CANON_GATE_MERGE_BASE_PATH") or (
        ".canon-gate/merge-base" if context else None
    )
    return AuditInputs(
        base_dir=workspace,
        head_dir=head,
        merge_base_dir=workspace / merge_base if merge_base else None,
        repo=env.get("GITHUB_REPOSITORY") or None,
        pr=_int(value("pr", "CANON_GATE_PR")),
        head_sha=value("head_sha", "CANON_GATE_HEAD_SHA"),
        base_sha=value("base_sha", "CANON_GATE_BASE_SHA"),
        merge_base_sha=value("merge_base_sha", "CANON_GATE_MERGE_BASE_SHA"),
        check_run_id=_int(value("check_run_id", "CANON_GATE_CHECK_RUN_ID")),
        workflow_run_id=_int(env.get("GITHUB_RUN_ID")),
        canon_ref=value("base_ref", "CANON_GATE_BASE_REF"),
        is_fork=_flag(value("is_fork", "CANON_GATE_IS_FORK")),
        approved=_flag(value("approved", "CANON_GATE_APPROVED")),
        # actions/checkout leaves the base commit checked out (HEAD) in the workspace.
        base_git=workspace if (workspace / ".git").exists() else None,
        hints_file=Path(env["CANON_GATE_HINTS_FILE"]) if env.get("CANON_GATE_HINTS_FILE") else None,
        # The audit job's gate; in the plan job, the one gate a re-run asks for.
        gate=(env.get("CANON_GATE_GATE") or context.get("gate") or "").strip() or None,
        needs_dir=Path(env["CANON_GATE_NEEDS_DIR"]) if env.get("CANON_GATE_NEEDS_DIR") else None,
        # A run the App started for one gate alone: its gate needs passed (the App checked).
        check_gate_needs=not (context.get("gate") or _flag(env.get("CANON_GATE_ONLY_GATE"))),
        caller_version=_int(env.get("CANON_GATE_CALLER_VERSION")),
    )


def mode(env: Mapping[str, str]) -> str:
    """Choose what this step does: `audit` (the default) or `hints`; anything else is refused."""
    chosen = (env.get("CANON_GATE_MODE") or "audit").strip()
    if chosen not in MODES:
        raise ValueError(f"CANON_GATE_MODE must be one of {', '.join(MODES)}, not {chosen!r}")
    return chosen


def artifact_for(gate: str | None) -> str:
    """The artifact this job's report is uploaded as; a gate name is checked before any use."""
    chosen = gate or DEFAULT_GATE
    if not GATE_NAME_RE.fullmatch(chosen):
        raise ValueError(f"CANON_GATE_GATE must be a gate name, not {chosen!r}")
    return artifact_name(chosen)


def write_sarif(report: Report, path: Path) -> None:
    """The gate's findings as SARIF 2.1.0, for code scanning (the workflow uploads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_sarif([report], installed_version()), indent=2) + "\n")


def write_step_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    """Append `name=value` lines to `$GITHUB_OUTPUT` (values are one line each)."""
    target = env.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as fh:
        for name, text in values.items():
            fh.write(f"{name}={text}\n")


def report_path(env: Mapping[str, str]) -> Path:
    return Path(env.get("CANON_GATE_REPORT") or REPORT_FILENAME)


def write_outputs(report: Report, env: Mapping[str, str]) -> Path:
    """Write the report, then the job summary; only the report is essential."""
    path = report_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    summary = env.get("GITHUB_STEP_SUMMARY")
    try:
        if summary:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(markdown(report))
    except OSError:
        # Auxiliary: the App judges from the report, and a failed step would discard it.
        log.warning("entrypoint.summary_failed", exc_info=True)
    return path


def main(env: Mapping[str, str] | None = None, harness: Harness | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    env = dict(os.environ if env is None else env)
    try:
        chosen = mode(env)
    except ValueError as exc:
        sys.stderr.write(f"canon-gate: {exc}\n")
        return 1
    if chosen == "hints":
        return hints_main(env)
    if chosen == "plan":
        return plan_main(env)
    try:
        # Before anything else: a report that predates this audit (committed on the base, or
        # left by an earlier step) must never be uploaded as this audit's, even if it is killed.
        report_path(env).unlink(missing_ok=True)
    except OSError:
        log.exception("entrypoint.stale_report")
        return 1
    try:
        inputs = inputs_from_env(env)
        artifact = artifact_for(inputs.gate)
    except ValueError as exc:
        sys.stderr.write(f"canon-gate: {exc}\n")
        return 1
    report = asyncio.run(run_audit(inputs, env, harness or SdkHarness()))
    try:
        path = write_outputs(report, env)
        write_step_outputs(env, {"artifact": artifact})
        if context_of(env).get("sarif") == "true" and env.get("CANON_GATE_SARIF_FILE"):
            write_sarif(report, Path(env["CANON_GATE_SARIF_FILE"]))
    except OSError:
        log.exception("entrypoint.write_failed")
        return 1
    sys.stdout.write(f"canon-gate: {report.status}; report written to {path}\n")
    if report.error:
        sys.stdout.write(f"::warning title=canon-gate not evaluated::{report.error}\n")
    return 0


def _beside_credential(env: Mapping[str, str], job: str, why: str) -> bool:
    """Refuse, saying so, to run a job that must hold no model credential beside one."""
    if not holds_credential(env):
        return False
    sys.stderr.write(
        f"canon-gate {job}: refusing to run: a model credential (a subscription token, an API "
        f"key, or cloud credentials) is in this job's environment; {why}\n"
    )
    return True


def hints_main(env: Mapping[str, str]) -> int:
    """The hints job: run the configured hints and write their results for the audit job."""
    if _beside_credential(env, "hints", "hints run in a job without it"):
        return 1
    path = Path(env.get("CANON_GATE_HINTS_FILE") or HINTS_FILENAME)
    inputs = inputs_from_env(env)
    try:
        path.unlink(missing_ok=True)
        config = load_config(inputs.base_dir)
    except ConfigError as exc:
        # The audit job reads the same config and reports it; there are no hints to run.
        sys.stdout.write(f"::warning title=canon-gate hints not run::invalid config: {exc}\n")
        results = []
    except OSError:
        log.exception("entrypoint.stale_hints")
        return 1
    else:
        results = asyncio.run(run_for(inputs, config, env.get("PATH") or DEFAULT_PATH))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(hints_file(inputs, results).model_dump_json(indent=2) + "\n")
    except OSError:
        log.exception("entrypoint.hints_write_failed")
        return 1
    sys.stdout.write(f"canon-gate hints: {len(results)} run; results written to {path}\n")
    return 0


def plan_main(env: Mapping[str, str]) -> int:
    """The plan job: the structural check's report, and which gates run in which wave."""
    if _beside_credential(env, "plan", "the plan job needs none"):
        return 1
    try:
        report_path(env).unlink(missing_ok=True)
    except OSError:
        log.exception("entrypoint.stale_report")
        return 1
    try:
        inputs = inputs_from_env(env)
        context = context_of(env)
    except ValueError as exc:
        sys.stderr.write(f"canon-gate plan: {exc}\n")
        return 1
    decided = plan(inputs)
    # The hints and audit jobs read the plan's context: whether to fetch the hints' results,
    # and whether to write SARIF.
    context["hints"] = "true" if decided.hints else "false"
    context["sarif"] = "true" if decided.sarif else "false"
    try:
        path = write_outputs(decided.structure, env)
        write_step_outputs(env, {**decided.outputs(), "context": json.dumps(context)})
    except OSError:
        log.exception("entrypoint.plan_write_failed")
        return 1
    sys.stdout.write(
        f"canon-gate plan: gates {decided.first} then {decided.later}; structure written to "
        f"{path}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
