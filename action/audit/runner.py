"""Run one audit end to end and return a Report. It never raises, and it fails closed.

Every way the audit can fall short (a broken config, no credentials, an unapproved fork PR, a
session error, a timeout, a missing structured result) becomes a report whose `error` says so.
The caller writes whatever comes back; the session is reached through a `Harness`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from action.audit.diff import changes as compute_changes
from action.audit.evidence import Sources
from action.audit.findings import dedupe, output_schema, parse_result, to_finding
from action.audit.hints import run_hints
from action.audit.prompt import build_prompt
from action.audit.redact import Redactor, secret_values
from action.audit.tools import SERVER, TOOL_NAMES, GateTools, qualified
from action.canon.checkout import DATA_DIR, Checkout
from action.canon.model import load_canon
from action.canon.structure import check_change
from action.config import Config, ConfigError, load_config
from action.report import ErrorKind, Report, RunInfo, ToolDenial, Usage
from action.session.environment import NoCredentials, auth_mode, build_session_env, cli_version
from action.session.guard import ReadGuard
from action.session.harness import Harness, SessionOutcome, SessionSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditInputs:
    base_dir: Path
    head_dir: Path
    # The PR's diff is taken from the merge-base checkout; None: from the base (older callers).
    merge_base_dir: Path | None = None
    repo: str | None = None
    pr: int | None = None
    head_sha: str | None = None
    base_sha: str | None = None
    merge_base_sha: str | None = None
    check_run_id: int | None = None
    workflow_run_id: int | None = None
    canon_ref: str | None = None
    is_fork: bool = False
    approved: bool = False


# The CLI's error subtypes, said in the words a reader of the check run needs.
_STOPS = {
    "error_max_turns": "the session reached its turn limit (`limits.max_turns`) without a result",
    "error_max_budget_usd": "the session reached its budget (`limits.max_budget_usd`) "
    "without a result",
    "error_max_structured_output_retries": "the model's structured result failed validation "
    "on every retry",
    "error_during_execution": "the session failed while running",
}


def outcome_error(out: SessionOutcome, own_tools: set[str]) -> str | None:
    """Decide whether the session completed; return why not. Never trust `subtype` alone."""
    if out.timed_out:
        return "the session hit the wall-clock limit and was killed"
    status = out.api_error_status
    if status == 401 or any("auth" in e.lower() for e in out.assistant_errors):
        return f"the model API refused the credential (HTTP {status or 401}): check the token"
    if status == 429 or any("rate" in e.lower() for e in out.assistant_errors):
        return "the model quota or rate limit is exhausted (HTTP 429); re-run later"
    if status is not None:
        return f"the model API failed (HTTP {status})"
    if out.exception and out.subtype is None:
        # The SDK's message runs on with a stderr pointer; its first line says what happened.
        return f"the session failed before a result: {out.exception.splitlines()[0][:300]}"
    if out.is_error or (out.subtype and out.subtype != "success"):
        # An API failure says "success" with is_error; the CLI's own text is in `result`.
        fallback = "the model API call failed" if out.subtype == "success" else None
        what = _STOPS.get(out.subtype or "") or fallback or "the session ended with an error"
        reasons = out.errors or [out.result_text or "", *out.assistant_errors]
        detail = "; ".join(r for r in reasons if r)[:300]
        return f"{what} ({out.subtype}){': ' + detail if detail else ''}"
    if out.num_turns == 0:
        return "the session ran zero turns"
    denied = {str(d.get("tool_name")) for d in out.permission_denials} & own_tools
    if denied:
        return f"the gate's own tools were denied: {', '.join(sorted(denied))}"
    if out.structured_output is None:
        return "the session ended without a structured result (the model answered in plain text)"
    return None


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
        report = _fail(report, f"canon-gate failed: {type(exc).__name__}", ErrorKind.CRASH)
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


def _fail(report: Report, error: str, kind: ErrorKind = ErrorKind.SESSION) -> Report:
    return report.model_copy(update={"error": error, "error_kind": kind})


async def _audit(
    inputs: AuditInputs, env: Mapping[str, str], harness: Harness, tmp: Path, report: Report
) -> Report:
    try:
        config = load_config(inputs.base_dir)
    except ConfigError as exc:
        return _fail(report, f"the config is invalid: {exc}", ErrorKind.CONFIG)
    report = report.model_copy(
        update={"run": report.run.model_copy(update={"model": config.model})}
    )
    if inputs.is_fork and config.forks.require_approval and not inputs.approved:
        return _fail(
            report,
            "awaiting a maintainer: this PR comes from a fork and `forks.require_approval` is on; "
            "a maintainer's `/canon-gate rerun` (or a dispatch with approved=true) "
            "starts the audit",
            ErrorKind.AWAITING_APPROVAL,
        )
    # Built before any work so a missing credential never spawns a session.
    try:
        session_env = build_session_env(env, tmp / "run", config.limits.wall_time_seconds)
    except NoCredentials:
        return _fail(
            report,
            "no model credential: set the CLAUDE_CODE_OAUTH_TOKEN secret "
            "(or ANTHROPIC_API_KEY); no session was started",
            ErrorKind.NO_CREDENTIALS,
        )
    return await _session(inputs, config, session_env, env, harness, tmp, report)


async def _session(
    inputs: AuditInputs,
    config: Config,
    session_env: dict[str, str],
    env: Mapping[str, str],
    harness: Harness,
    tmp: Path,
    report: Report,
) -> Report:
    missing = [d for d in (inputs.head_dir, inputs.merge_base_dir) if d and not d.is_dir()]
    if missing:
        return _fail(report, f"a checkout is missing: {missing[0]}", ErrorKind.CRASH)
    # The base tip governs (canon, config, prompts); the PR's own change is its diff from the
    # merge-base, or commits that landed on the base since would read as the PR reverting them.
    diff_base = inputs.merge_base_dir or inputs.base_dir
    # Each checkout is read once; the canon, the chain problems and the structural check share it.
    base, head = Checkout(inputs.base_dir), Checkout(inputs.head_dir)
    # The data checkouts are nested in the base workspace: their files are never base canon.
    data_dirs = [inputs.base_dir / DATA_DIR, inputs.head_dir]
    data_dirs += [inputs.merge_base_dir] if inputs.merge_base_dir else []
    canon = load_canon(base, config.canon.paths, skip=data_dirs)
    base_problems = canon.chain_problems()
    # The PR's own canon, parsed as data only: which broken chains does the PR itself add?
    known = set(base_problems)
    if inputs.merge_base_dir is not None:
        known |= set(load_canon(Checkout(diff_base), config.canon.paths).chain_problems())
    head_canon = load_canon(head, config.canon.paths)
    introduced = [p for p in head_canon.chain_problems() if p not in known]
    file_changes = compute_changes(
        diff_base, inputs.head_dir, config.audit.paths, config.audit.exclude
    )
    hints = await run_hints(
        config.hints, inputs.base_dir, inputs.head_dir, session_env["PATH"], diff_base
    )
    # Purely structural: it travels in the report and gates only as its own check run.
    structure = check_change(base, head, ((c.path, c.status) for c in file_changes), config)
    report = report.model_copy(update={"hints": hints, "structure": structure})
    prompt = build_prompt(
        canon,
        config.canon.foundation,
        file_changes,
        hints,
        inputs.pr,
        str(inputs.head_dir),
        str(inputs.base_dir),
        merge_base_dir=str(inputs.merge_base_dir) if inputs.merge_base_dir else None,
        chain_problems=base_problems,
        introduced_problems=introduced,
    )
    tools = GateTools(canon, file_changes)
    own = {qualified(n) for n in TOOL_NAMES}
    guard = ReadGuard(
        [inputs.base_dir, inputs.head_dir, diff_base], inputs.base_dir, frozenset(own)
    )
    spec = SessionSpec(
        system_prompt=prompt.system,
        user_prompt=prompt.user,
        cwd=inputs.base_dir,
        run_dir=tmp / "run",
        env=session_env,
        output_schema=output_schema(),
        mcp_server=tools.server(),
        mcp_name=SERVER,
        can_use_tool=guard.can_use_tool,
        pre_tool_use=guard.pre_tool_use,
        max_turns=config.limits.max_turns,
        max_budget_usd=config.limits.max_budget_usd,
        wall_seconds=float(config.limits.wall_time_seconds),
        model=config.model,
    )
    out = await harness.run(spec)
    denials = [ToolDenial(tool=d.tool, target=d.target, reason=d.reason) for d in guard.denials]
    seen = {(d.tool, d.target) for d in denials}
    for d in out.permission_denials:
        target = str((d.get("tool_input") or {}).get("file_path") or "")
        if (str(d.get("tool_name")), target) not in seen:
            denials.append(ToolDenial(tool=str(d.get("tool_name")), target=target, reason="denied"))
    usage = out.usage or {}
    run = report.run.model_copy(
        update={
            "model": out.model or config.model,
            "prompt_hash": prompt.hash,
            "turns": out.num_turns,
            "cost_usd": out.cost_usd,
            "usage": Usage(**{k: int(usage.get(k) or 0) for k in Usage.model_fields}),
            "denials": denials,
        }
    )
    report = report.model_copy(update={"run": run})
    error = outcome_error(out, own)
    if error is not None:
        return _fail(report, error)
    try:
        result = parse_result(out.structured_output)
    except ValueError as exc:
        return _fail(report, str(exc))
    merge_base = (diff_base, inputs.merge_base_sha) if inputs.merge_base_dir else None
    sources = Sources(
        canon, inputs.base_dir, inputs.head_dir, inputs.base_sha, inputs.head_sha, merge_base
    )
    findings = dedupe([to_finding(raw, sources) for raw in result.findings])
    return report.model_copy(update={"findings": findings})
