"""Every documented command runs in the environment `./scripts/serve` and `./scripts/test`
make (issue 15, item 1): they sync every extra, so no command stops for a missing one."""

from __future__ import annotations

import subprocess
import sysconfig
import tomllib
from pathlib import Path

import pytest

from app.cli.main import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[3]


def test_the_scripts_install_every_extra_a_command_needs() -> None:
    venv = (ROOT / "scripts/_venv.sh").read_text()
    (sync,) = [line for line in venv.splitlines() if " sync " in line]
    assert "--all-extras" in sync
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {sub.extra for sub in SUBCOMMANDS.values() if sub.extra}
    assert needed <= set(project["optional-dependencies"])


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_each_command_runs_in_this_environment(command: str) -> None:
    exe = Path(sysconfig.get_path("scripts")) / "canon-gate"
    done = subprocess.run([str(exe), command, "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "needs canon-gate's" not in done.stderr
    assert done.stdout.startswith("usage: canon-gate " + command)
