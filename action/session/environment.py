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


# What each mode hands the session, besides its switch: the credential, and the settings the
# CLI reads for it. Nothing else of the parent's environment reaches the session.
_MODE_NAMES: dict[AuthMode, tuple[str, ...]] = {
    AuthMode.SUBSCRIPTION: ("CLAUDE_CODE_OAUTH_TOKEN",),
    AuthMode.API_KEY: ("ANTHROPIC_API_KEY",),
    # The AWS SDK's credential chain: the role's short-lived keys (OIDC, from the workflow's
    # configure-aws-credentials step), or a Bedrock API key; the region is required.
    AuthMode.BEDROCK: (
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "ANTHROPIC_BEDROCK_BASE_URL",
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH",
    ),
    # Google's application default credentials: the file the workflow's auth step wrote (OIDC
    # workload identity federation), the project and the region.
    AuthMode.VERTEX: (
        "GOOGLE_APPLICATION_CREDENTIALS",
        "ANTHROPIC_VERTEX_PROJECT_ID",
        "CLOUD_ML_REGION",
        "ANTHROPIC_VERTEX_BASE_URL",
        "CLAUDE_CODE_SKIP_VERTEX_AUTH",
    ),
}
_SWITCH = {AuthMode.BEDROCK: "CLAUDE_CODE_USE_BEDROCK", AuthMode.VERTEX: "CLAUDE_CODE_USE_VERTEX"}
# The setup step each mode needs when its credential is missing.
SETUP = {
    AuthMode.SUBSCRIPTION: (
        "set the repository secret CLAUDE_CODE_OAUTH_TOKEN to the token `claude setup-token` "
        "prints (the workflow `canon-gate init` writes passes it)"
    ),
    AuthMode.API_KEY: (
        "set the repository secret ANTHROPIC_API_KEY to an Anthropic API key, and pass it with "
        "the workflow `canon-gate init --auth api_key` writes"
    ),
    AuthMode.BEDROCK: (
        "set the repository variables CANON_GATE_AWS_ROLE_ARN (an IAM role GitHub's OIDC may "
        "assume, allowed to invoke the Claude models on Amazon Bedrock) and CANON_GATE_AWS_REGION, "
        "with the workflow `canon-gate init --auth bedrock` writes"
    ),
    AuthMode.VERTEX: (
        "set the repository variables CANON_GATE_GCP_WORKLOAD_IDENTITY_PROVIDER, "
        "CANON_GATE_GCP_SERVICE_ACCOUNT, CANON_GATE_GCP_PROJECT and CANON_GATE_GCP_REGION (a "
        "workload identity provider trusting this repository, and a service account allowed to "
        "use the Claude models on Vertex AI), with the workflow `canon-gate init --auth vertex` "
        "writes"
    ),
}


class NoCredentials(CanonGateError):
    """The mode's credential is not in the environment; the message says how to set it up."""

    def __init__(self, mode: AuthMode, detail: str = "") -> None:
        self.mode = mode
        chosen = "no model credential" if mode is AuthMode.NONE else f"no credential for {mode}"
        step = (
            SETUP[AuthMode.SUBSCRIPTION] + " (or choose another `auth` mode)"
            if mode is AuthMode.NONE
            else SETUP[mode]
        )
        super().__init__(f"{chosen}{detail}: {step}; no session was started")


def auth_mode(parent: Mapping[str, str], configured: str = "auto") -> AuthMode:
    """The mode the session authenticates with: the configured one, or the first whose
    credential is present (subscription, API key, Bedrock, Vertex); NONE without any."""
    if configured != "auto":
        return AuthMode(configured)
    if parent.get("CLAUDE_CODE_OAUTH_TOKEN"):
        return AuthMode.SUBSCRIPTION
    if parent.get("ANTHROPIC_API_KEY"):
        return AuthMode.API_KEY
    # The CLI's own switches, then the clouds' credentials.
    if parent.get("CLAUDE_CODE_USE_BEDROCK") == "1":
        return AuthMode.BEDROCK
    if parent.get("CLAUDE_CODE_USE_VERTEX") == "1":
        return AuthMode.VERTEX
    if parent.get("AWS_REGION") and (
        parent.get("AWS_ACCESS_KEY_ID") or parent.get("AWS_BEARER_TOKEN_BEDROCK")
    ):
        return AuthMode.BEDROCK
    if parent.get("GOOGLE_APPLICATION_CREDENTIALS") and parent.get("ANTHROPIC_VERTEX_PROJECT_ID"):
        return AuthMode.VERTEX
    return AuthMode.NONE


# Every variable that is, or unlocks, a model credential.
CREDENTIAL_NAMES = frozenset(
    {
        "CLAUDE_CODE_OAUTH_TOKEN",
        "ANTHROPIC_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "GOOGLE_APPLICATION_CREDENTIALS",
    }
)


def holds_credential(parent: Mapping[str, str]) -> bool:
    """Whether any mode's credential is in the environment (jobs that must hold none check)."""
    return any(parent.get(n) for n in CREDENTIAL_NAMES)


def _missing(mode: AuthMode, parent: Mapping[str, str]) -> str:
    """What the mode lacks, or "" when its credential is all there."""

    def absent(*names: str) -> list[str]:
        return [n for n in names if not parent.get(n)]

    if mode is AuthMode.SUBSCRIPTION:
        lacking = absent("CLAUDE_CODE_OAUTH_TOKEN")
    elif mode is AuthMode.API_KEY:
        lacking = absent("ANTHROPIC_API_KEY")
    elif mode is AuthMode.BEDROCK:
        keys = parent.get("AWS_ACCESS_KEY_ID") and parent.get("AWS_SECRET_ACCESS_KEY")
        skip = parent.get("CLAUDE_CODE_SKIP_BEDROCK_AUTH")
        credential = keys or parent.get("AWS_BEARER_TOKEN_BEDROCK") or skip
        lacking = absent("AWS_REGION") + ([] if credential else ["AWS credentials"])
    elif mode is AuthMode.VERTEX:
        skip = parent.get("CLAUDE_CODE_SKIP_VERTEX_AUTH")
        creds = [] if skip else absent("GOOGLE_APPLICATION_CREDENTIALS")
        lacking = absent("ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION") + creds
    else:
        lacking = ["a credential"]
    return f" ({', '.join(lacking)} missing)" if lacking else ""


def build_session_env(
    parent: Mapping[str, str], run_dir: Path, wall_seconds: float, configured: str = "auto"
) -> dict[str, str]:
    """Build the session's whole environment: the fresh dirs, one mode's credential, the bounds.

    Raises NoCredentials, naming the setup step, when the mode's credential is missing.
    """
    mode = auth_mode(parent, configured)
    if mode is AuthMode.NONE:
        raise NoCredentials(mode)
    if lacking := _missing(mode, parent):
        raise NoCredentials(mode, lacking)
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
    for name in _MODE_NAMES[mode]:
        if parent.get(name):
            env[name] = parent[name]
    if mode in _SWITCH:
        env[_SWITCH[mode]] = "1"
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
