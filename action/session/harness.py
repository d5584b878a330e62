"""Run one session through claude-agent-sdk's `query()` behind a small Protocol, within its bounds.

`action.audit.prepare` builds a `SessionSpec`; a `Harness` turns it into a `SessionOutcome`. The
real one, `SdkHarness`, spawns the bundled CLI through the launcher from
`action.session.environment` and kills its whole process group at the wall-clock limit (raw
asyncio cancellation can leave the CLI running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from action.session.environment import PIDFILE, bundled_cli, write_wrapper

log = logging.getLogger(__name__)

SYNTHETIC_MODEL = "<synthetic>"


@dataclass
class SessionSpec:
    """Everything one session needs; built by `prepare`, consumed by a Harness."""

    system_prompt: str
    user_prompt: str
    cwd: Path
    run_dir: Path
    env: dict[str, str]
    output_schema: dict[str, Any]
    mcp_server: Any
    mcp_name: str
    can_use_tool: Any
    pre_tool_use: Any
    max_turns: int
    max_budget_usd: float
    wall_seconds: float
    model: str | None = None
    # Told the number of the model's turns so far, as each new one starts (progress only).
    on_turn: Callable[[int], None] | None = None


@dataclass
class SessionOutcome:
    """What came back: the ResultMessage's figures, or why there was none."""

    subtype: str | None = None
    is_error: bool = False
    num_turns: int = 0
    cost_usd: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    structured_output: Any = None
    result_text: str | None = None
    permission_denials: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    api_error_status: int | None = None
    timed_out: bool = False
    exception: str | None = None
    assistant_errors: list[str] = field(default_factory=list)


class Harness(Protocol):
    async def run(self, spec: SessionSpec) -> SessionOutcome: ...


def kill_group(pidfile: Path) -> None:
    """Terminate, then kill, the process group the wrapper started, if it is still alive."""
    try:
        pgid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class SdkHarness:
    """The real harness: claude-agent-sdk's `query()` over the bundled CLI."""

    def __init__(self, cli: Path | None = None) -> None:
        self.cli = cli

    def options(self, spec: SessionSpec) -> Any:
        from claude_agent_sdk import ClaudeAgentOptions, HookMatcher

        wrapper = write_wrapper(spec.run_dir, self.cli or bundled_cli(), list(spec.env))
        return ClaudeAgentOptions(
            tools=["Read", "Grep", "Glob"],
            # Empty: every call, the gate's own tools included, goes through the guard.
            allowed_tools=[],
            disallowed_tools=["Bash", "Write", "Edit", "NotebookEdit", "WebFetch", "WebSearch"],
            permission_mode="default",
            can_use_tool=spec.can_use_tool,
            hooks={"PreToolUse": [HookMatcher(matcher=None, hooks=[spec.pre_tool_use])]},
            setting_sources=[],
            system_prompt=spec.system_prompt,
            mcp_servers={spec.mcp_name: spec.mcp_server},
            strict_mcp_config=True,
            max_turns=spec.max_turns,
            max_budget_usd=spec.max_budget_usd,
            model=spec.model,
            cwd=str(spec.cwd),
            cli_path=str(wrapper),
            env=spec.env,
            output_format={"type": "json_schema", "schema": spec.output_schema},
            stderr=lambda line: log.debug("session.stderr %s", line[:200]),
        )

    async def run(self, spec: SessionSpec) -> SessionOutcome:
        out = SessionOutcome()
        pidfile = spec.run_dir / PIDFILE
        loop = asyncio.get_running_loop()
        watchdog = loop.call_later(spec.wall_seconds, self._expire, out, pidfile)
        try:
            # The watchdog kills the CLI, which ends the stream; the extra grace is a backstop.
            async with asyncio.timeout(spec.wall_seconds + 10):
                await self._consume(spec, out)
        except TimeoutError:
            out.timed_out = True
        except Exception as exc:  # the SDK's errors carry the reason; `collect` reports it
            if out.exception is None:
                out.exception = f"{type(exc).__name__}: {exc}"
        finally:
            watchdog.cancel()
            kill_group(pidfile)
        return out

    @staticmethod
    def _expire(out: SessionOutcome, pidfile: Path) -> None:
        out.timed_out = True
        kill_group(pidfile)

    async def _consume(self, spec: SessionSpec, out: SessionOutcome) -> None:
        from claude_agent_sdk import AssistantMessage, ResultMessage, query

        async def prompt() -> Any:
            yield {"type": "user", "message": {"role": "user", "content": spec.user_prompt}}

        # One turn is one model message, which the CLI may deliver in several parts.
        turns: set[str | int] = set()
        async for message in query(prompt=prompt(), options=self.options(spec)):
            if isinstance(message, AssistantMessage):
                # The CLI labels the messages it makes up itself (API errors) "<synthetic>".
                if message.model and message.model != SYNTHETIC_MODEL:
                    out.model = message.model
                    turn = message.message_id or len(turns)
                    if spec.on_turn is not None and turn not in turns:
                        turns.add(turn)
                        spec.on_turn(len(turns))
                if message.error:
                    out.assistant_errors.append(str(message.error))
            elif isinstance(message, ResultMessage):
                out.subtype = message.subtype
                out.is_error = message.is_error
                out.num_turns = message.num_turns
                out.cost_usd = message.total_cost_usd or 0.0
                out.usage = dict(message.usage or {})
                out.structured_output = message.structured_output
                out.result_text = message.result
                out.permission_denials = [dict(d) for d in message.permission_denials or []]
                out.errors = [str(e) for e in getattr(message, "errors", None) or []]
                out.api_error_status = getattr(message, "api_error_status", None)
