"""What this build of canon-gate is: its version, the judge it pins, its report schema, and the
action release `canon-gate init` pins a repository's workflow to.

A wheel carries these, fixed at build time (`hatch_build.py` writes `app/_data/build.json`); a
source checkout computes them from its own files and git. This module reads files only, so the
build hook can import it by path, before anything is installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ACTION_REPO = "canon-gate/canon-gate"
_REMOTE = re.compile(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?$")


@dataclass(frozen=True)
class BuildInfo:
    version: str
    claude_agent_sdk: str
    claude_code: str
    report_schema: int
    # The canon-gate repository, commit and tag the action is pinned to (None: unknown).
    action_repo: str
    action_sha: str | None
    action_tag: str | None

    def lines(self) -> list[str]:
        """`canon-gate --version`: four fixed lines."""
        return [
            f"canon-gate {self.version}",
            f"claude-agent-sdk {self.claude_agent_sdk}",
            f"claude CLI {self.claude_code}",
            f"report schema {self.report_schema}",
        ]


def _assigned(path: Path, name: str) -> str:
    match = re.search(rf"^{name} = \"?([^\"\n]+)\"?$", path.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{name} is not set in {path}")
    return match[1]


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def from_source(root: Path = ROOT, version: str | None = None) -> BuildInfo:
    """Compute the build info from a source tree (at build time, or in a checkout)."""
    remote = _git("remote", "get-url", "origin") or ""
    match = _REMOTE.search(remote)
    return BuildInfo(
        version=version or _assigned(root / "pyproject.toml", "version"),
        claude_agent_sdk=_assigned(root / "action" / "pins.py", "CLAUDE_AGENT_SDK"),
        claude_code=_assigned(root / "action" / "pins.py", "CLAUDE_CODE"),
        report_schema=int(_assigned(root / "action" / "report.py", "SCHEMA_VERSION")),
        action_repo=os.environ.get("CANON_GATE_ACTION_REPO")
        or (match[1] if match else DEFAULT_ACTION_REPO),
        action_sha=os.environ.get("CANON_GATE_ACTION_SHA") or _git("rev-parse", "HEAD"),
        action_tag=os.environ.get("CANON_GATE_ACTION_TAG")
        or _git("describe", "--tags", "--exact-match"),
    )


def to_json(info: BuildInfo) -> str:
    return json.dumps(asdict(info), indent=2) + "\n"


def current() -> BuildInfo:
    """This installation's build info: fixed in a wheel, computed in a source checkout."""
    packaged = files("app").joinpath("_data", "build.json")
    if packaged.is_file():
        return BuildInfo(**json.loads(packaged.read_text(encoding="utf-8")))
    return from_source()
