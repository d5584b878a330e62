"""The verification vote: before a substantive finding blocks, K fresh, independent, read-only
sessions each confirm or refute it; a majority of refutes stops it blocking.

A verifier can only remove noise, never turn an audit that was not evaluated into a pass: the
vote runs only on an evaluated report, and a verifier that fails (an error, a timeout, an invalid
answer) counts as confirm. The vote's time and money come out of the audit's own budget: what
the session left of `limits.max_budget_usd`, within `verify.wall_time_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from action.audit.inputs import AuditInputs
from action.audit.prepare import Prepared
from action.audit.prompt import build_verifier_prompt
from action.audit.tools import SERVER
from action.config import Config
from action.report import Finding, Report, ToolDenial, Verification, VerificationRun, Vote
from action.session.environment import build_session_env
from action.session.guard import ReadGuard
from action.session.harness import Harness, SessionOutcome, SessionSpec

log = logging.getLogger(__name__)
# Verifier sessions at once: the vote's wall time is shared, so they run side by side.
CONCURRENCY = 3
# A verifier reads a little and answers; it needs far fewer turns than the audit.
VERIFIER_TURNS = 12
# A verifier started with less time than this would only time out: it counts as confirm.
MIN_SECONDS = 10.0


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["confirm", "refute"]
    reason: str = Field(min_length=1, max_length=2000)


def answer_schema() -> dict[str, Any]:
    schema = _Answer.model_json_schema()
    schema.pop("title", None)
    return schema


async def vote(
    report: Report,
    prepared: Prepared,
    inputs: AuditInputs,
    config: Config,
    env: Mapping[str, str],
    harness: Harness,
    run_dir: Path,
) -> Report:
    """Put each substantive finding (up to `verify.max_findings`) to the vote; record it."""
    votes = config.verify.votes
    if not votes or not report.evaluated:
        return report
    substantive = [i for i, f in enumerate(report.findings) if f.substantive]
    chosen = substantive[: config.verify.max_findings]
    run = VerificationRun(votes=votes, unverified=len(substantive) - len(chosen))
    left = config.limits.max_budget_usd - report.run.cost_usd
    if not chosen or left <= 0:
        # Nothing to verify, or no budget left for it: they block unverified.
        return report.model_copy(
            update={"verification": run.model_copy(update={"unverified": len(substantive)})}
        )
    started = time.monotonic()
    deadline = started + config.verify.wall_time_seconds
    per_session = left / (len(chosen) * votes)
    gate = asyncio.Semaphore(CONCURRENCY)
    denials: list[ToolDenial] = []

    async def one(index: int, n: int) -> tuple[int, Vote, SessionOutcome | None]:
        async with gate:
            remaining = deadline - time.monotonic()
            if remaining < MIN_SECONDS:
                return index, Vote(verdict="confirm", reason="no time left", failed=True), None
            finding = report.findings[index]
            folder = run_dir / f"vote-{index}-{n}"
            guard = ReadGuard(list(prepared.guard.roots), prepared.guard.cwd, prepared.own_tools)
            try:
                spec = _spec(finding, inputs, config, env, folder, guard, prepared, remaining)
                out = await harness.run(replace(spec, max_budget_usd=per_session))
            except Exception:  # a verifier can only remove noise: its failure confirms
                log.exception("verify.crashed")
                return (
                    index,
                    Vote(verdict="confirm", reason="the verifier failed", failed=True),
                    None,
                )
            denials.extend(guard.denials)
            return index, _vote_of(out), out

    results = await asyncio.gather(*(one(i, n) for i in chosen for n in range(votes)))
    by_finding: dict[int, list[Vote]] = {}
    for index, cast, _ in results:
        by_finding.setdefault(index, []).append(cast)
    findings: list[Finding] = [
        f.model_copy(update={"verification": Verification(votes=by_finding[i])})
        if i in by_finding
        else f
        for i, f in enumerate(report.findings)
    ]
    outcomes = [out for _, _, out in results if out is not None]
    run = run.model_copy(
        update={
            "verified": len(chosen),
            "sessions": len(outcomes),
            "turns": sum(o.num_turns for o in outcomes),
            "cost_usd": sum(o.cost_usd for o in outcomes),
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
    )
    info = report.run.model_copy(update={"denials": [*report.run.denials, *denials]})
    return report.model_copy(update={"findings": findings, "verification": run, "run": info})


def _spec(
    finding: Finding,
    inputs: AuditInputs,
    config: Config,
    env: Mapping[str, str],
    folder: Path,
    guard: ReadGuard,
    prepared: Prepared,
    seconds: float,
) -> SessionSpec:
    prompt = build_verifier_prompt(
        finding,
        str(inputs.head_dir),
        str(inputs.base_dir),
        str(inputs.merge_base_dir) if inputs.merge_base_dir else None,
    )
    wall = int(min(seconds, config.verify.wall_time_seconds))
    return SessionSpec(
        system_prompt=prompt.system,
        user_prompt=prompt.user,
        cwd=inputs.base_dir,
        run_dir=folder,
        env=build_session_env(dict(env), folder, wall, config.auth),
        output_schema=answer_schema(),
        mcp_server=prepared.tools.server(),
        mcp_name=SERVER,
        can_use_tool=guard.can_use_tool,
        pre_tool_use=guard.pre_tool_use,
        max_turns=VERIFIER_TURNS,
        max_budget_usd=prepared.spec.max_budget_usd,
        wall_seconds=float(wall),
        model=config.verify.model or prepared.model,
    )


def _vote_of(out: SessionOutcome) -> Vote:
    """The verifier's answer, or a failed vote (counted as confirm) when it gave none."""
    if out.is_error or out.timed_out or out.exception or out.structured_output is None:
        return Vote(verdict="confirm", reason="the verifier gave no answer", failed=True)
    try:
        answer = _Answer.model_validate(out.structured_output)
    except ValidationError:
        return Vote(verdict="confirm", reason="the verifier's answer was invalid", failed=True)
    return Vote(verdict=answer.verdict, reason=answer.reason)
