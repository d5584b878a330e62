"""`canon-gate --version`, and a clear way out when a subcommand's dependencies are missing."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from action import pins
from action.report import SCHEMA_VERSION

# Runs `canon-gate ARGS` in a Python that cannot import the given modules, as if the extra that
# installs them were missing.
WITHOUT = """
import sys
from importlib.abc import MetaPathFinder
blocked = set(sys.argv[1].split(","))
class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Missing())
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda n, p=None: None if n in blocked else real(n, p)
from app.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def test_version_prints_four_fixed_lines() -> None:
    exe = Path(sysconfig.get_path("scripts")) / "canon-gate"
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        done.stdout.splitlines()[0],
        f"claude-agent-sdk {pins.CLAUDE_AGENT_SDK}",
        f"claude CLI {pins.CLAUDE_CODE}",
        f"report schema {SCHEMA_VERSION}",
    ]
    assert done.stdout.startswith("canon-gate ")


@pytest.mark.parametrize(
    ("command", "blocked", "extra"),
    [
        (["serve"], "aiohttp,gidgethub", "app"),
        (["audit"], "claude_agent_sdk", "action"),
        (["receive", "--event", "ping", "--payload", "x.json"], "aiohttp", "app"),
    ],
)
def test_a_missing_extra_says_the_exact_install_command(
    command: list[str], blocked: str, extra: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT, blocked, *command], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert f"pip install 'canon-gate[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
