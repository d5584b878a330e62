"""Run the configured mechanical hints on the base checkout; their output is input, never a verdict.

Each hint is an argv from the base branch's config, run without a shell, with the base checkout as
working directory and the PR head passed as data (`CANON_GATE_HEAD`, `CANON_GATE_BASE`, and
`CANON_GATE_MERGE_BASE`, where the PR's diff starts), in a minimal environment of its own, in
its own process group so a timeout kills all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from action.config import Hint
from action.report import HintResult

MAX_OUTPUT = 20_000


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
    text = out.decode("utf-8", "replace")
    if len(text) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + "\n[output truncated]\n"
    return HintResult(
        name=hint.name,
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration_ms=int((time.monotonic() - started) * 1000),
        output=text,
    )


async def run_hints(
    hints: list[Hint], base: Path, head: Path, path_env: str, merge_base: Path | None = None
) -> list[HintResult]:
    return [await run_hint(h, base, head, path_env, merge_base) for h in hints]
