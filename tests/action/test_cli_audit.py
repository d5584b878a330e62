"""`canon-gate audit` as a user runs it (issue 15, items 2-6): the installed command on a local
repository, against the fake model. The table shows what a reviewer needs within the terminal's
width; progress goes to a terminal's stderr and nowhere else; a change in no gate's scope
starts no session and says so; what governs is named; usage errors are one line, exit 2."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import subprocess
import sysconfig
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, ToolCall, Turn, structured

from action.report import Report
from tests.action.support import CHECK_SCRIPT, GOVERNING, OAUTH, RETIRED, VODKA, write_tree

COMMAND = Path(sysconfig.get_path("scripts")) / "canon-gate"
URI = "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"
CLAIM = (
    "The CI guide makes scripts/check-canon-drift.py the merge gate, so a regex decides whether "
    "a pull request merges, where the canon requires a spawned agent session to be the gate and "
    "allows scripts only as pre-flight hints."
)
FINDING = {
    "classification": "substantive",
    "kind": "contradiction",
    "path": "docs/ci.md",
    "start_line": 2,
    "claim": CLAIM,
    "evidence": [
        {"quote": "a regex decides whether a PR merges", "source": "docs/ci.md"},
        {"quote": "The gate is a regular expression.", "source": URI},
    ],
    "canon": [URI],
    "suggested_fix": {
        "description": "Say that the session is the gate and the script only a hint.",
        "replacement": "The gate is a spawned agent session; the script is a hint.",
    },
}
# A canon document the change adds without a title and with an unknown status.
BROKEN = "---\nuri: klappy://canon/broken\nstatus: wobbly\n---\n\nText.\n"


def git(repo: Path, *args: str) -> str:
    argv = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(tmp_path: Path, branch: str = "main") -> Path:
    """A repository whose `main` holds canon and a config, checked out on `feature`."""
    repo = tmp_path / "repo"
    write_tree(
        repo,
        {
            "canon/constraints/audit-gates-are-spawned-agent-sessions.md": GOVERNING,
            "canon/constraints/audit-gates-are-managed-agents.md": RETIRED,
            "canon/principles/vodka-architecture.md": VODKA,
            "docs/ci.md": "# CI gate\nThe gate is a spawned session.\n",
            ".github/canon-gate.yml": "limits:\n  max_turns: 8\n  wall_time_seconds: 60\n",
        },
    )
    git(repo, "init", "-q", "-b", branch)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "feature")
    return repo


async def run(argv: list[str], env: dict[str, str], *, tty: bool = False) -> tuple[int, str, str]:
    """Run the installed command; stderr is a pseudo-terminal with `tty`, else a pipe."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    master = slave = None
    if tty:
        master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        str(COMMAND),
        *argv,
        env={**base, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=slave if slave is not None else asyncio.subprocess.PIPE,
    )
    if slave is not None:
        os.close(slave)
    out, err = await proc.communicate()
    if master is not None:
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        err = b"".join(chunks)
    return proc.returncode or 0, out.decode(), err.decode().replace("\r\n", "\n")


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.cli
async def test_the_table_shows_what_a_reviewer_needs_within_the_width(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_tree(repo, {"docs/ci.md": CHECK_SCRIPT, "canon/broken.md": BROKEN})
    async with FakeAnthropic([structured({"findings": [FINDING]})]) as fake:
        env = {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH, "ANTHROPIC_BASE_URL": fake.url, "COLUMNS": "64"}
        status, out, err = await run(["audit", "-C", str(repo)], env)
    # The structural check failed, as canon-gate/structure would on GitHub: exit 1.
    assert status == 1, out + err
    # Within the width, but for a URI longer than a line, which stays whole to be copied.
    assert all(len(line) <= 64 or " " not in line.strip() for line in out.splitlines()), out
    text = flat(out)
    assert text.startswith("canon-gate/structure: failed: 2 structure problems")
    assert "canon/broken.md:1 required-field: The required field `title` is missing." in text
    assert "canon/broken.md:3 unknown-status:" in text
    assert "canon-gate: failed: 1 blocking finding" in text
    # The claim whole, wrapped rather than cut; the evidence, each quote verified or not.
    assert CLAIM in text
    assert 'verified "a regex decides whether a PR merges" (docs/ci.md:2 @ ' in text
    assert f'unverified "The gate is a regular expression." ({URI}' in text
    assert f"canon: {URI}" in text
    assert "fix: Say that the session is the gate and the script only a hint." in text
    assert "| The gate is a spawned agent session; the script is a hint." in text
    assert re.search(r"session: \d+ turns? · \d+s · \$[\d.]+ \(API-equivalent\)", text), text
    assert text.endswith("Result: failed (canon-gate/structure, canon-gate); exit status 1 ")
    # What governs, on stderr; and no progress off a terminal.
    sha = git(repo, "rev-parse", "--short=7", "main")
    assert err.splitlines() == [
        f"canon-gate audit: config and canon from main@{sha}; auditing the working tree"
    ]


@pytest.mark.cli
async def test_progress_goes_to_a_terminal_and_the_json_stays_clean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_tree(repo, {"docs/ci.md": CHECK_SCRIPT})
    script = [
        Turn(tool_calls=[ToolCall("mcp__canon_gate__pr_diff", {})]),
        structured({"findings": [FINDING]}),
    ]
    async with FakeAnthropic(script) as fake:
        env = {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH, "ANTHROPIC_BASE_URL": fake.url}
        status, out, err = await run(["audit", "--json", "-C", str(repo)], env, tty=True)
    assert status == 1, err
    assert Report.model_validate_json(out).status == "fail"
    steps = [
        "canon-gate audit: config and canon from main@",
        "canon-gate/structure: done: passed",
        "canon-gate: canon loaded (3 documents)",
        "canon-gate: 1 changed file in scope",
        "canon-gate: session started (up to 8 turns or 1m 0s)",
        "canon-gate: turn 2",
        "canon-gate: done: failed (",
    ]
    at = [err.find(step) for step in steps]
    assert -1 not in at, err
    assert at == sorted(at), err


async def test_a_change_in_no_scope_starts_no_session_and_says_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    async with FakeAnthropic() as fake:
        env = {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH, "ANTHROPIC_BASE_URL": fake.url}
        status, out, err = await run(["audit", "-C", str(repo)], env)
        assert fake.requests == []
    assert status == 0, out + err
    assert "the working tree holds no change from main@" in err
    assert "nothing to audit, no session" in err
    assert "canon-gate: not in scope: the change touches none of this gate's paths" in flat(out)
    assert flat(out).endswith("no session started and nothing was spent; exit status 0 ")

    # A config edited in the working tree governs nothing here, and the user is told so.
    write_tree(repo, {".github/canon-gate.yml": "limits:\n  max_turns: 2\n"})
    status, out, err = await run(["audit", "-C", str(repo)], {})
    assert status == 3  # no credential: not evaluated
    assert "note: .github/canon-gate.yml in the working tree differs from main@" in err
    assert "has no effect here" in err


def empty_base(tmp_path: Path) -> list[str]:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "root")
    git(repo, "checkout", "-qb", "feature")
    write_tree(repo, {"docs/a.md": "A.\n"})
    return ["-C", str(repo)]


def no_commits(tmp_path: Path) -> list[str]:
    repo = tmp_path / "new"
    repo.mkdir()
    git(repo, "init", "-q")
    return ["-C", str(repo)]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (lambda t: ["-C", str(t)], "is not inside a git repository"),
        (lambda t: ["-C", str(t / "nowhere")], "is not inside a git repository"),
        (no_commits, "has no commits yet"),
        (lambda t: ["-C", str(make_repo(t, branch="trunk"))], "found no main or master branch"),
        (lambda t: ["-C", str(make_repo(t)), "--base", "nope"], "--base 'nope' is not a commit"),
        (lambda t: ["-C", str(make_repo(t)), "--head", "nope"], "--head 'nope' is not a commit"),
        (lambda t: ["-C", str(make_repo(t)), "--gate", "nope"], "defines no such gate"),
        (empty_base, "holds no files, so nothing would govern the change"),
    ],
    ids=[
        "not-a-repo",
        "no-folder",
        "no-commits",
        "no-main",
        "bad-base",
        "bad-head",
        "gate",
        "empty",
    ],
)
async def test_a_usage_error_is_one_line_and_exit_2(
    tmp_path: Path, args: object, says: str
) -> None:
    argv = args(tmp_path)  # type: ignore[operator]
    status, out, err = await run(["audit", *argv], {})
    assert status == 2, err
    assert out == ""
    lines = [line for line in err.splitlines() if "config and canon from" not in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("canon-gate audit: ")
    assert says in lines[0]
    assert "Traceback" not in err


def test_the_json_and_sarif_formats_keep_stdout_for_the_reports(tmp_path: Path) -> None:
    """Off a terminal the only stderr line names what governs; stdout is the format asked."""
    repo = make_repo(tmp_path)
    for fmt in ("json", "sarif"):
        done = subprocess.run(
            [str(COMMAND), "audit", "--format", fmt, "-C", str(repo)],
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
        )
        assert done.returncode == 0, done.stderr
        json.loads(done.stdout)
        said = done.stderr.splitlines()
        assert said[0].startswith("canon-gate audit: config and canon from main@")
        assert all(line.startswith("canon-gate audit: ") for line in said), said
        assert not any("done:" in line or "session started" in line for line in said)
