"""Run one audit end to end and return a Report. It never raises, and it fails closed.

Every way the audit can fall short (a broken config, no credentials, an unapproved fork PR, a
session error, a timeout, a missing structured result) becomes a report whose `error` says so.
The caller writes whatever comes back. An audit is: the gates that need no session, then
`prepare`, the session through a `Harness`, and `collect`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from action.audit.collect import collect, fail
from action.audit.hints import HintsUnavailable
from action.audit.inputs import AuditInputs, awaiting_approval
from action.audit.prepare import prepare
from action.audit.redact import Redactor, secret_values
from action.canon.model import CanonProblem
from action.canon.sources import fetched_for, unusable
from action.config import ConfigError, load_config
from action.governance import governance_key, governs_from_git
from action.pins import mismatch
from action.report import CanonSourceRun, ErrorKind, Report, RunInfo
from action.session.environment import NoCredentials, auth_mode, build_session_env, cli_version
from action.session.harness import Harness

log = logging.getLogger(__name__)


async def run_audit(
    inputs: AuditInputs,
    env: Mapping[str, str],
    harness: Harness,
    work_dir: Path | None = None,
) -> Report:
    """Audit one PR; `env` is the parent environment (credentials come only from it)."""
    started = time.monotonic()
    run = RunInfo(
        repo=inputs.repo,
        pr=inputs.pr,
        head_sha=inputs.head_sha,
        base_sha=inputs.base_sha,
        merge_base_sha=inputs.merge_base_sha,
        check_run_id=inputs.check_run_id,
        workflow_run_id=inputs.workflow_run_id,
        canon_ref=inputs.canon_ref,
        canon_sha=inputs.base_sha,
        claude_code_version=_safe_cli_version(),
        auth_mode=auth_mode(env),
    )
    report = Report(run=run)
    try:
        with tempfile.TemporaryDirectory(prefix="canon-gate-", dir=work_dir) as tmp:
            report = await _audit(inputs, env, harness, Path(tmp), report)
    except Exception as exc:  # the last line of fail-closed: a bug still yields a report
        log.exception("audit.crashed")
        report = fail(report, f"canon-gate failed: {type(exc).__name__}", ErrorKind.CRASH)
    elapsed = int((time.monotonic() - started) * 1000)
    report = report.model_copy(
        update={"run": report.run.model_copy(update={"duration_ms": elapsed})}
    )
    return Redactor(secret_values(dict(env))).report(report)


def _safe_cli_version() -> str | None:
    try:
        return cli_version()
    except ImportError:
        return None


async def _audit(
    inputs: AuditInputs, env: Mapping[str, str], harness: Harness, tmp: Path, report: Report
) -> Report:
    try:
        config = load_config(inputs.base_dir)
    except ConfigError as exc:
        return fail(report, f"the config is invalid: {exc}", ErrorKind.CONFIG)
    # Canon from other repositories: what the workflow fetched, each at the commit it read.
    fetched = fetched_for(inputs.base_dir, config.canon.sources)
    read_at = [(f.prefix, f.commit or "unfetched") for f in fetched]
    key = (
        governance_key(
            governs_from_git(
                inputs.base_git, inputs.base_commit, config.canon.paths, sources=read_at
            )
        )
        if inputs.base_git is not None
        else None
    )
    sources = [
        CanonSourceRun(prefix=f.prefix, repo=f.repo, ref=f.ref, path=f.path, commit=f.commit)
        for f in fetched
    ]
    report = report.model_copy(
        update={
            "run": report.run.model_copy(
                update={"model": config.model, "governance_key": key, "canon_sources": sources}
            )
        }
    )
    if awaiting_approval(inputs, config):
        return fail(
            report,
            "awaiting a maintainer: this PR comes from a fork and `forks.require_approval` is on; "
            "a maintainer's `/canon-gate approve <head-sha>` (or a dispatch with approved=true) "
            "starts the audit",
            ErrorKind.AWAITING_APPROVAL,
        )
    if (why := unusable(fetched)) is not None:
        # A source that could not be fetched is never a silent pass: a person must act.
        return fail(report, why, ErrorKind.CONFIG)
    # Built before any work so a missing credential never spawns a session.
    try:
        session_env = build_session_env(env, tmp / "run", config.limits.wall_time_seconds)
    except NoCredentials:
        return fail(
            report,
            "no model credential: set the CLAUDE_CODE_OAUTH_TOKEN secret "
            "(or ANTHROPIC_API_KEY); no session was started",
            ErrorKind.NO_CREDENTIALS,
        )
    missing = [d for d in (inputs.head_dir, inputs.merge_base_dir) if d and not d.is_dir()]
    if missing:
        return fail(report, f"a checkout is missing: {missing[0]}", ErrorKind.CRASH)
    # Another SDK or CLI is another judge: never start a session with a harness the lock does
    # not name.
    if (other := mismatch(inputs.expected_harness)) is not None:
        return fail(report, other, ErrorKind.CRASH)
    try:
        prepared = await prepare(inputs, config, session_env, tmp / "run", fetched=fetched)
    except HintsUnavailable as exc:
        return fail(report, str(exc), exc.kind)
    except CanonProblem as exc:
        # An empty or misconfigured canon is never a silent pass: a person must fix it.
        return fail(report, str(exc), ErrorKind.CONFIG)
    outcome = await harness.run(prepared.spec)
    return collect(prepared, outcome, report)
