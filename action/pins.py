"""The judge this release pins: the claude-agent-sdk version and the `claude` CLI it bundles.

`scripts/upgrade-deps` writes the values below from uv.lock and the installed SDK; a test keeps
them equal to the lock. Before a session starts, the runner checks that the installed harness is
exactly this one: a different SDK or CLI is a different judge, and fails closed.
"""

from __future__ import annotations

import sys
from pathlib import Path

CLAUDE_AGENT_SDK = "0.2.189"
CLAUDE_CODE = "2.1.332"

_THIS = Path(__file__)


def installed() -> tuple[str | None, str | None]:
    """The installed SDK's version and its bundled CLI's version (None when missing)."""
    try:
        import claude_agent_sdk
        from claude_agent_sdk._cli_version import __cli_version__
    except ImportError:
        return None, None
    return str(claude_agent_sdk.__version__), str(__cli_version__)


PINNED = (CLAUDE_AGENT_SDK, CLAUDE_CODE)


def mismatch(expected: tuple[str, str] = PINNED) -> str | None:
    """Say how the installed harness differs from the pinned one; None when it is the same."""
    sdk, cli = installed()
    if (sdk, cli) == expected:
        return None
    return (
        f"the installed harness (claude-agent-sdk {sdk or 'missing'}, claude CLI "
        f"{cli or 'missing'}) is not the one this action pins (claude-agent-sdk "
        f"{expected[0]}, claude CLI {expected[1]}); install it from the action's "
        "requirements/action.txt"
    )


def write(sdk: str, cli: str) -> None:
    """Record new pins in this file (scripts/upgrade-deps calls it after locking)."""
    text = _THIS.read_text()
    text = text.replace(f'CLAUDE_AGENT_SDK = "{CLAUDE_AGENT_SDK}"', f'CLAUDE_AGENT_SDK = "{sdk}"')
    text = text.replace(f'CLAUDE_CODE = "{CLAUDE_CODE}"', f'CLAUDE_CODE = "{cli}"')
    _THIS.write_text(text)


if __name__ == "__main__":
    sdk, cli = installed()
    if sdk is None or cli is None:
        sys.exit("claude-agent-sdk is not installed")
    write(sdk, cli)
    sys.stdout.write(f"pinned claude-agent-sdk {sdk}, claude CLI {cli}\n")
