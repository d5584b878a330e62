"""Reproducible installs: uv.lock is the one source, its exports are current, the judge pinned."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from action import pins

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)")


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {p["name"]: p["version"] for p in lock["package"] if "version" in p}


def requirements(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {m[1].lower(): m[2] for line in text.splitlines() if (m := REQUIREMENT.match(line))}


def test_the_requirements_exports_are_current_with_the_lock() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "export-requirements"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_every_exported_requirement_is_pinned_with_hashes() -> None:
    for path in sorted((ROOT / "requirements").glob("*.txt")):
        entries = re.split(r"\n(?=\S)", path.read_text().strip())
        for entry in entries:
            if entry.startswith("#"):
                continue
            assert REQUIREMENT.match(entry), (path.name, entry[:80])
            assert "--hash=sha256:" in entry, (path.name, entry[:80])


def test_the_harness_pins_are_the_locked_sdk_and_its_bundled_cli() -> None:
    assert locked_versions()["claude-agent-sdk"] == pins.CLAUDE_AGENT_SDK
    assert requirements("action.txt")["claude-agent-sdk"] == pins.CLAUDE_AGENT_SDK
    # This environment was installed from the lock: its SDK and CLI are the pinned ones.
    assert pins.installed() == (pins.CLAUDE_AGENT_SDK, pins.CLAUDE_CODE)
    assert pins.mismatch() is None


def test_the_installed_environment_is_the_locked_one() -> None:
    locked = locked_versions()
    from importlib.metadata import version

    for name in ("claude-agent-sdk", "aiohttp", "gidgethub", "pydantic", "pytest", "mypy"):
        assert version(name) == locked[name], name


def test_the_action_installs_its_requirements_from_the_lock_with_hashes(tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action" / "action.yml").read_text())
    commands = "\n".join(str(step.get("run", "")) for step in action["runs"]["steps"])
    [install] = [line for line in commands.splitlines() if "pip install" in line]
    assert "--require-hashes" in install
    assert "requirements/action.txt" in install
    # The same install resolves offline, from the locked artifacts alone, with hash checking.
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", str(tmp_path / "runner")], check=True)
    done = subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "--dry-run",
            "--offline",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(ROOT / "requirements" / "action.txt"),
            "--python",
            str(tmp_path / "runner" / "bin" / "python"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"claude-agent-sdk=={pins.CLAUDE_AGENT_SDK}" in done.stderr + done.stdout
