"""Run the configured mechanical hints on the base checkout; their output is input, never a verdict.

Each hint is an argv from the base branch's config, run without a shell, with the base checkout as
working directory and the PR head passed as data (`CANON_GATE_HEAD`, `CANON_GATE_BASE`, and
`CANON_GATE_MERGE_BASE`, where the PR's diff starts), in a minimal environment of its own, in
its own process group so a timeout kills all of it.

Where hints run is a security boundary. A hint's process can read its parent's environment
(`/proc/<ppid>/environ`), and a GitHub runner gives passwordless sudo, so nothing inside one VM
keeps a secret from a program running there. In the Action, hints therefore run in a job of their
own that never holds the model credential, and hand their results to the audit job as a file
(`HintsFile`), which the audit reads as data. Only the local `canon-gate audit`, on the user's own
machine, runs them in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from action.audit.inputs import AuditInputs, awaiting_approval
from action.config import Config, Hint
from action.errors import CanonGateError
from action.report import ErrorKind, HintResult

MAX_OUTPUT = 20_000
# A hints file holds one bounded output per configured hint (JSON escapes a control character in
# six bytes), and a few fields besides; anything bigger was not written by the hints job.
_MAX_FILE_BYTES = 6 * MAX_OUTPUT + 4_000


class HintsUnavailable(CanonGateError):
    """The hints the config asks for cannot be had; the audit is not evaluated, saying why."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.CRASH) -> None:
        super().__init__(message)
        self.kind = kind


class HintsFile(BaseModel):
    """What the hints job hands the audit job: the commits the hints ran on, and their results."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    head_sha: str | None
    base_sha: str | None
    merge_base_sha: str | None
    results: list[HintResult]


async def run_hint(
    hint: Hint, base: Path, head: Path, path_env: str, merge_base: Path | None = None
) -> HintResult:
    """Run one hint with its timeout; a hint that cannot start is reported, not raised."""
    env = {
        "PATH": path_env,
        "HOME": str(base),
        "CANON_GATE_BASE": str(base),
        "CANON_GATE_HEAD": str(head),
        "CANON_GATE_MERGE_BASE": str(merge_base or base),
    }
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *hint.run,
            cwd=base,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return HintResult(name=hint.name, output=f"could not start: {exc}")
    timed_out = False
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), hint.timeout_seconds)
    except TimeoutError:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out = b""
        await proc.wait()
    return HintResult(
        name=hint.name,
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration_ms=int((time.monotonic() - started) * 1000),
        output=_bounded(out.decode("utf-8", "replace")),
    )


def _bounded(text: str) -> str:
    return text[:MAX_OUTPUT] + "\n[output truncated]\n" if len(text) > MAX_OUTPUT else text


async def run_hints(
    hints: list[Hint], base: Path, head: Path, path_env: str, merge_base: Path | None = None
) -> list[HintResult]:
    return [await run_hint(h, base, head, path_env, merge_base) for h in hints]


async def run_for(inputs: AuditInputs, config: Config, path_env: str) -> list[HintResult]:
    """Run the configured hints for one audit: none for a fork PR still awaiting a maintainer."""
    if awaiting_approval(inputs, config):
        return []
    diff_base = inputs.merge_base_dir or inputs.base_dir
    return await run_hints(config.hints, inputs.base_dir, inputs.head_dir, path_env, diff_base)


def hints_file(inputs: AuditInputs, results: list[HintResult]) -> HintsFile:
    return HintsFile(
        head_sha=inputs.head_sha,
        base_sha=inputs.base_sha,
        merge_base_sha=inputs.merge_base_sha,
        results=results,
    )


def read_results(path: Path, inputs: AuditInputs, config: Config) -> list[HintResult]:
    """Read the hints job's results for this audit; raise HintsUnavailable when they are not.

    The file is data from a job that ran PR-reading programs: it must be for the commits this
    audit judges and the hints this config names, each output bounded, or it is refused.
    """
    try:
        if path.stat().st_size > _MAX_FILE_BYTES * max(1, len(config.hints)):
            raise HintsUnavailable(f"the hints job's results are too large ({path.name})")
        found = HintsFile.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise HintsUnavailable(
            f"the hints job's results could not be read: {type(exc).__name__}"
        ) from None
    ran_on = (found.head_sha, found.base_sha, found.merge_base_sha)
    if ran_on != (inputs.head_sha, inputs.base_sha, inputs.merge_base_sha):
        raise HintsUnavailable(
            "the hints job ran on other commits than this audit (the PR moved between the "
            "jobs); re-run the audit"
        )
    if [r.name for r in found.results] != [h.name for h in config.hints]:
        raise HintsUnavailable("the hints job's results do not match the configured hints")
    return [r.model_copy(update={"output": _bounded(r.output)}) for r in found.results]


async def gather(inputs: AuditInputs, config: Config, path_env: str) -> list[HintResult]:
    """Obtain the hint results for an audit: from the hints job's file, or, locally, by running
    them here; never in the Action's audit job, which holds the model credential."""
    if inputs.hints_file is not None and inputs.hints_file.exists():
        return read_results(inputs.hints_file, inputs, config)
    if inputs.hints_in_process:
        return await run_for(inputs, config, path_env)
    if config.hints:
        raise HintsUnavailable(
            "hints are configured (`hints`), but no hints job ran: the workflow must run them in "
            "their own job, without the model credential (`canon-gate init --force` writes it)",
            ErrorKind.CONFIG,
        )
    return []
