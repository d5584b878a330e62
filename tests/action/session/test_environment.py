"""The session's environment: one credential, fresh dirs, a launcher that passes nothing else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from action.report import AuthMode
from action.session.environment import NoCredentials, auth_mode, build_session_env, write_wrapper
from tests.action.support import GITHUB_TOKEN, OAUTH


def test_wrapper_environment_is_exactly_the_session_env(tmp_path: Path) -> None:
    parent = {
        "PATH": os.environ["PATH"],
        "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
        "ANTHROPIC_API_KEY": "sk-ant-x",
        "GITHUB_TOKEN": GITHUB_TOKEN,
    }
    env = build_session_env(parent, tmp_path / "run", 60)
    assert "ANTHROPIC_API_KEY" not in env
    assert env["API_TIMEOUT_MS"] == "20000"
    wrapper = write_wrapper(tmp_path / "run", Path("/usr/bin/env"), list(env))
    merged = {**os.environ, **parent, **env}  # what the SDK would hand the wrapper
    out = subprocess.run([str(wrapper)], env=merged, capture_output=True, text=True, check=True)
    got = dict(line.split("=", 1) for line in out.stdout.splitlines())
    got.pop("PWD", None)  # one of the SDK protocol names the wrapper forwards when set
    assert got == env
    assert GITHUB_TOKEN not in out.stdout
    assert OAUTH not in wrapper.read_text()


def test_no_credentials(tmp_path: Path) -> None:
    assert auth_mode({}) is AuthMode.NONE
    with pytest.raises(NoCredentials):
        build_session_env({"PATH": "/bin"}, tmp_path, 60)
