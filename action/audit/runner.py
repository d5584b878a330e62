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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from action.audit.collect import collect, fail
from action.audit.hints import HintsUnavailable
from action.audit.inputs import AuditInputs, awaiting_approval
from action.audit.needs import load_need_reports
from action.audit.prepare import load_base_canon, prepare, scoped_changes
from action.audit.progress import Progress, Silent
from action.audit.prompt import persona_docs
from action.audit.redact import Redactor, secret_values
from action.audit.verify import vote
from action.canon.model import CanonProblem
from action.canon.sources import Fetched, fetched_for, unusable
from action.config import ConfigError, load_config
from action.gates import find_gate, gate_config, gate_names, persona_of, unmet_need
from action.governance import governance_key, governs_from_git
from action.pins import mismatch
from action.report import DEFAULT_GATE, CanonSourceRun, ErrorKind, PersonaRun, Report
from action.session.environment import NoCredentials, auth_mode, build_session_env, cli_version
from action.session.harness import Harness

log = logging.getLogger(__name__)


async def run_audit(
    inputs: AuditInputs,
    env: Mapping[str, str],
    harness: Harness,
    work_dir: Path | None = None,
    progress: Progress | None = None,
) -> Report:
    """Audit one PR; `env` is the parent environment (credentials come only from it).
    `progress` hears how it goes, up to the report (by default nothing does)."""
    progress = progress or Silent()
    started = time.monotonic()
    run = inputs.run_info().model_copy(update={"claude_code_version": _safe_cli_version()})
    report = Report(run=run)
    try:
        with tempfile.TemporaryDirectory(prefix="canon-gate-", dir=work_dir) as tmp:
            report = await _audit(inputs, env, harness, Path(tmp), report, progress)
    except Exception as exc:  # the last line of fail-closed: a bug still yields a report
        log.exception("audit.crashed")
        report = fail(report, f"canon-gate failed: {type(exc).__name__}", ErrorKind.CRASH)
    elapsed = int((time.monotonic() - started) * 1000)
    report = report.model_copy(
        update={"run": report.run.model_copy(update={"duration_ms": elapsed})}
    )
    report = Redactor(secret_values(dict(env))).report(report)
    progress.done(report)
    return report


def _safe_cli_version() -> str | None:
    try:
        return cli_version()
    except ImportError:
        return None


async def _audit(
    inputs: AuditInputs,
    env: Mapping[str, str],
    harness: Harness,
    tmp: Path,
    report: Report,
    progress: Progress,
) -> Report:
    try:
        config = load_config(inputs.base_dir)
    except ConfigError as exc:
        return fail(report, f"the config is invalid: {exc}", ErrorKind.CONFIG)
    gate = inputs.gate or DEFAULT_GATE
    report = _with_run(
        report,
        gate=gate,
        caller_version=inputs.caller_version,
        auth_mode=auth_mode(env, config.auth),
    )
    if gate not in gate_names(config):
        return fail(
            report,
            f"the config on the base branch defines no gate `{gate}` (it defines: "
            f"{', '.join(gate_names(config))})",
            ErrorKind.CONFIG,
        )
    seen = gate_config(config, gate)
    # Canon from other repositories: what the workflow fetched, each at the commit it read.
    fetched = fetched_for(inputs.base_dir, config.canon.sources)
    read_at = [(f.prefix, f.commit or "unfetched") for f in fetched]
    key = (
        governance_key(
            governs_from_git(
                inputs.base_git,
                inputs.base_commit,
                config.canon.paths,
                gate=gate,
                sources=read_at,
            )
        )
        if inputs.base_git is not None
        else None
    )
    sources = [
        CanonSourceRun(prefix=f.prefix, repo=f.repo, ref=f.ref, path=f.path, commit=f.commit)
        for f in fetched
    ]
    report = _with_run(report, model=seen.model, governance_key=key, canon_sources=sources)
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
    missing = [d for d in (inputs.head_dir, inputs.merge_base_dir) if d and not d.is_dir()]
    if missing:
        return fail(report, f"a checkout is missing: {missing[0]}", ErrorKind.CRASH)
    try:
        # Before scope: an empty or misconfigured canon (or persona) is never a silent pass.
        canon = load_base_canon(inputs, config, fetched)
        persona_docs(canon, persona_of(config, gate), gate)
    except CanonProblem as exc:
        return fail(report, str(exc), ErrorKind.CONFIG)
    progress.canon_loaded(gate, len(canon.docs) + sum(len(c.docs) for _, c in canon.sources))
    # Scope is free: a change that touches none of the gate's paths needs no session.
    changes = scoped_changes(inputs, seen)
    progress.in_scope(gate, len(changes))
    if not changes:
        return report.model_copy(update={"out_of_scope": True})
    # Cheapest first: a gate in scope whose needs did not pass starts no session (out of its
    # scope, it needs none whatever its needs did).
    needs = (
        inputs.need_reports
        if inputs.need_reports is not None
        else load_need_reports(inputs.needs_dir)
        if inputs.needs_dir is not None
        else {}
    )
    unmet = unmet_need(find_gate(config, gate), needs, gates_too=inputs.check_gate_needs)
    if unmet is not None:
        return fail(report, unmet, ErrorKind.NEEDS)
    # Built before any work so a missing credential never spawns a session.
    try:
        session_env = build_session_env(
            env, tmp / "run", seen.limits.wall_time_seconds, config.auth
        )
    except NoCredentials as exc:
        return fail(report, str(exc), ErrorKind.NO_CREDENTIALS)
    # Another SDK or CLI is another judge: never start a session with a harness the lock does
    # not name.
    if (other := mismatch(inputs.expected_harness)) is not None:
        return fail(report, other, ErrorKind.CRASH)
    try:
        prepared = await prepare(
            inputs,
            seen,
            session_env,
            tmp / "run",
            fetched=fetched,
            persona=persona_of(config, gate),
            gate=gate,
            changes=changes,
            canon=canon,
        )
    except HintsUnavailable as exc:
        return fail(report, str(exc), exc.kind)
    except CanonProblem as exc:
        # An empty or misconfigured canon is never a silent pass: a person must fix it.
        return fail(report, str(exc), ErrorKind.CONFIG)
    limits = seen.limits
    progress.session_started(gate, limits.max_turns, limits.wall_time_seconds)
    spec = replace(prepared.spec, on_turn=lambda turns: progress.turn(gate, turns))
    outcome = await harness.run(spec)
    persona = [
        PersonaRun(uri=uri, path=path, commit=_commit_of(uri, inputs.base_sha, fetched))
        for uri, path, _ in prepared.persona
    ]
    report = collect(prepared, outcome, _with_run(report, persona=persona))
    # Before a finding blocks, the vote (when the config asks for one) may refute it.
    if seen.verify.votes and any(f.blocks for f in report.findings):
        progress.voting(gate, seen.verify.votes)
    return await vote(report, prepared, inputs, seen, env, harness, tmp / "votes")


def _with_run(report: Report, **fields: object) -> Report:
    return report.model_copy(update={"run": report.run.model_copy(update=fields)})


def _commit_of(uri: str, base_sha: str | None, fetched: Sequence[Fetched]) -> str | None:
    """The commit a canon document was read at: its source's, or the base's."""
    source = next((f for f in fetched if f.prefix and uri.startswith(f.prefix)), None)
    return source.commit if source is not None else base_sha
