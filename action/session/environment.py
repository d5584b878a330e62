"""Build the session's whole environment and the launcher that gives the CLI nothing else.

The SDK merges `options.env` over the parent's `os.environ`, so an entry in `env` can override a
parent variable but never remove it. We therefore spawn the CLI through a generated wrapper
(`cli_path`) that re-executes the bundled binary under `env -i` with only the variable *names* we
chose; the values travel in the process environment, never on disk. The wrapper also `setsid`s the
CLI into its own process group and writes its pid, so the wall-clock limit can kill the whole tree.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from action.errors import CanonGateError
from action.report import AuthMode

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
PIDFILE = "cli.pid"


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
    pidfile = shlex.quote(str(run_dir / PIDFILE))
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
    """Return the `claude` binary the SDK's wheel bundles."""
    import claude_agent_sdk

    return Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def cli_version() -> str:
    """Return the bundled CLI's version."""
    from claude_agent_sdk._cli_version import __cli_version__

    return str(__cli_version__)
