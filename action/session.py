"""Spawn one clean, bounded Claude Code session through claude-agent-sdk, behind a small Protocol.

Minimal environment: the SDK merges `options.env` over the parent's `os.environ`, so an entry in
`env` can override a parent variable but never remove it. We therefore spawn the CLI through a
generated wrapper (`cli_path`) that re-executes the bundled binary under `env -i` with only the
variable *names* we chose; the values travel in the process environment, never on disk. The
wrapper also `setsid`s the CLI into its own process group and writes its pid, so the wall-clock
limit can kill the whole tree (raw asyncio cancellation can leave the CLI running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from action.errors import CanonGateError
from action.report import AuthMode

log = logging.getLogger(__name__)

# Retries and per-request timeouts are bounded so the wall-clock limit is the one that holds.
MAX_RETRIES = "2"
# Forwarded from the parent when set: the fake endpoint in tests, a proxy in some runners.
_PASSTHROUGH = ("ANTHROPIC_BASE_URL", "LANG", "LC_ALL")
# Names the SDK itself adds to the process env; the CLI needs them to speak the SDK protocol.
_SDK_NAMES = (
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_AGENT_SDK_VERSION",
    "CLAUDE_CODE_SDK_READS_SESSION_STATE",
    "CLAUDE_AGENT_SDK_CLIENT_APP",
    "PWD",
)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
SYNTHETIC_MODEL = "<synthetic>"


class NoCredentials(CanonGateError):
    """Neither CLAUDE_CODE_OAUTH_TOKEN nor ANTHROPIC_API_KEY is set."""


def auth_mode(parent: Mapping[str, str]) -> AuthMode:
    """Decide the auth mode: the subscription token wins over an API key."""
    if parent.get("CLAUDE_CODE_OAUTH_TOKEN"):
        return AuthMode.SUBSCRIPTION
    if parent.get("ANTHROPIC_API_KEY"):
        return AuthMode.API_KEY
    return AuthMode.NONE


def build_session_env(
    parent: Mapping[str, str], run_dir: Path, wall_seconds: float
) -> dict[str, str]:
    """Build the session's whole environment: the fresh dirs, one credential, the bounds."""
    mode = auth_mode(parent)
    if mode is AuthMode.NONE:
        raise NoCredentials("no CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY in the environment")
    env = {
        "PATH": parent.get("PATH") or DEFAULT_PATH,
        "HOME": str(run_dir / "home"),
        "TMPDIR": str(run_dir / "tmp"),
        "CLAUDE_CONFIG_DIR": str(run_dir / "config"),
        "CLAUDE_CODE_DISABLE_AUTO_MEMORY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": MAX_RETRIES,
        # One request may use at most a third of the wall time, so a retry still fits.
        "API_TIMEOUT_MS": str(max(1000, int(wall_seconds * 1000 / 3))),
    }
    if mode is AuthMode.SUBSCRIPTION:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = parent["CLAUDE_CODE_OAUTH_TOKEN"]
    else:
        env["ANTHROPIC_API_KEY"] = parent["ANTHROPIC_API_KEY"]
    for name in _PASSTHROUGH:
        if parent.get(name):
            env[name] = parent[name]
    for sub in ("home", "tmp", "config"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    return env


def write_wrapper(run_dir: Path, cli: Path, names: list[str]) -> Path:
    """Write the launcher that runs `cli` in a new session with only `names` in its environment."""
    keep = sorted(set(names) | set(_SDK_NAMES))
    # ${NAME+...} forwards a variable only when it is set, so unset names stay unset.
    args = " ".join(f'${{{n}+"{n}=${n}"}}' for n in keep)
    pidfile = shlex.quote(str(run_dir / "cli.pid"))
    script = (
        "#!/bin/sh\n"
        f"echo $$ > {pidfile}\n"
        f'exec /usr/bin/setsid /usr/bin/env -i {args} {shlex.quote(str(cli))} "$@"\n'
    )
    path = run_dir / "claude-clean"
    path.write_text(script)
    path.chmod(0o700)
    return path


def bundled_cli() -> Path:
    import claude_agent_sdk

    return Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def cli_version() -> str:
    from claude_agent_sdk._cli_version import __cli_version__

    return str(__cli_version__)


@dataclass
class SessionSpec:
    """Everything one session needs; built by the runner, consumed by a Harness."""

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


@dataclass
class SessionOutcome:
    """What came back: the ResultMessage's figures, or why there was none."""

    subtype: str | None = None
    is_error: bool = False
    num_turns: int = 0
    duration_ms: int = 0
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


def kill_group(pidfile: Path) -> bool:
    """Terminate, then kill, the process group the wrapper started; True if one was alive."""
    try:
        pgid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return True


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
        pidfile = spec.run_dir / "cli.pid"
        loop = asyncio.get_running_loop()
        watchdog = loop.call_later(spec.wall_seconds, self._expire, out, pidfile)
        try:
            # The watchdog kills the CLI, which ends the stream; the extra grace is a backstop.
            async with asyncio.timeout(spec.wall_seconds + 10):
                await self._consume(spec, out)
        except TimeoutError:
            out.timed_out = True
        except Exception as exc:  # the SDK's errors carry the reason; the runner reports it
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

        async for message in query(prompt=prompt(), options=self.options(spec)):
            if isinstance(message, AssistantMessage):
                # The CLI labels the messages it makes up itself (API errors) "<synthetic>".
                if message.model and message.model != SYNTHETIC_MODEL:
                    out.model = message.model
                if message.error:
                    out.assistant_errors.append(str(message.error))
            elif isinstance(message, ResultMessage):
                out.subtype = message.subtype
                out.is_error = message.is_error
                out.num_turns = message.num_turns
                out.duration_ms = message.duration_ms
                out.cost_usd = message.total_cost_usd or 0.0
                out.usage = dict(message.usage or {})
                out.structured_output = message.structured_output
                out.result_text = message.result
                out.permission_denials = [dict(d) for d in message.permission_denials or []]
                out.errors = [str(e) for e in getattr(message, "errors", None) or []]
                out.api_error_status = getattr(message, "api_error_status", None)
