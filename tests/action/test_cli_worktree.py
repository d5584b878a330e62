"""`canon-gate audit` on a working tree: the head is what git would commit, never ignored files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, ToolCall, Turn, structured

from action.checkouts import _copy_worktree, trees
from action.report import Report
from tests.action.support import (
    OAUTH,
    changed_files,
    json_out,
    make_checkouts,
    run_cli,
    system_text,
    write_tree,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "OUTSIDE-THE-REPO-7f3a"


def git(repo: Path, *args: str) -> str:
    argv = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(tmp_path: Path) -> Path:
    """A repository on `feature` with uncommitted work, a big ignored `.venv`, and a `main` that
    moved on after the branch point."""
    repo = tmp_path / "repo"
    base, head = make_checkouts(tmp_path / "src")
    files = {
        p.relative_to(base).as_posix(): p.read_text()
        for p in base.rglob("*")
        if p.is_file() and ".canon-gate" not in p.parts
    }
    write_tree(repo, {**files, ".gitignore": ".venv/\n*.log\n", "docs/release.md": "Tag.\n"})
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "feature")
    git(repo, "checkout", "-q", "main")
    write_tree(repo, {"docs/release.md": "Tagged by the release bot.\n"})
    git(repo, "commit", "-qam", "main moves on")
    git(repo, "checkout", "-q", "feature")
    # Uncommitted work: a modified tracked file, a new untracked one, a deleted one.
    (repo / "docs/ci.md").write_text((head / "docs/ci.md").read_text())
    write_tree(repo, {"docs/new.md": "# New\nA new page.\n", "debug.log": "noise\n"})
    (repo / "canon/constraints/audit-gates-are-managed-agents.md").unlink()
    # What .gitignore excludes: many files, none of them part of the change.
    write_tree(repo, {f".venv/lib/site-packages/pkg{i}/mod.py": "x = 1\n" for i in range(400)})
    # Links: one inside the repository (kept as a link), one leading out of it (never followed).
    outside = tmp_path / "outside.md"
    outside.write_text(f"{SECRET}\n")
    (repo / "docs/escape.md").symlink_to(outside)
    (repo / "docs/alias.md").symlink_to("new.md")
    return repo


def test_worktree_copy_is_what_git_would_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    dest = tmp_path / "head"
    _copy_worktree(repo, dest)
    copied = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if not p.is_dir()}
    assert not any(p.startswith(".venv/") for p in copied)
    assert "debug.log" not in copied
    assert "docs/new.md" in copied
    assert "docs/ci.md" in copied
    assert "canon/constraints/audit-gates-are-managed-agents.md" not in copied
    assert "docs/escape.md" not in copied
    assert os.readlink(dest / "docs/alias.md") == "new.md"
    assert (dest / "docs/ci.md").read_text() == (repo / "docs/ci.md").read_text()
    assert not (dest / ".git").exists()


@pytest.mark.cli
async def test_audit_of_the_working_tree_ignores_ignored_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    branch_point = git(repo, "merge-base", "main", "feature")
    script = [
        Turn(tool_calls=[ToolCall("mcp__canon_gate__pr_diff", {})]),
        structured({"findings": []}),
    ]
    async with FakeAnthropic(script) as fake:
        env = {
            "PATH": os.environ["PATH"],
            "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
            "ANTHROPIC_BASE_URL": fake.url,
            "PYTHONPATH": str(ROOT),
        }
        argv = [sys.executable, "-m", "app.cli", "audit", "--base", "main", "--json"]
        proc = await run_cli([*argv, "-C", str(repo)], env)
    assert proc[0] == 0, proc[1]
    report = Report.model_validate(json_out(proc[1]))
    assert report.run.merge_base_sha == branch_point
    assert report.run.base_sha == git(repo, "rev-parse", "main")
    text = system_text(fake)
    # Only the branch's own work: not .venv, not debug.log, not main's later release.md edit;
    # the link inside the repository is a change too (shown by its target).
    assert changed_files(text) == [
        '- deleted: "canon/constraints/audit-gates-are-managed-agents.md"',
        '- added: "docs/alias.md"',
        '- modified: "docs/ci.md"',
        '- added: "docs/new.md"',
    ]
    assert all(SECRET not in request.raw for request in fake.requests)


def test_trees_borrow_unchanged_files_and_write_only_what_differs(tmp_path: Path) -> None:
    """The base is the commit's content, never the working tree's edits; what the working tree
    holds unchanged is linked, not copied (the session only reads it)."""
    repo = make_repo(tmp_path)
    base = git(repo, "rev-parse", "main")
    head = git(repo, "rev-parse", "HEAD")
    staged = "canon/principles/vodka-architecture.md"
    (repo / staged).write_text("staged, not committed\n")
    git(repo, "add", staged)
    with trees(repo, base, head, worktree=True) as laid_out:
        base_dir = laid_out.base_dir
        assert (base_dir / "docs/release.md").read_text() == "Tagged by the release bot.\n"
        # Edited in the working tree, staged in the index: the base still has the commit's text.
        assert (
            base_dir / "docs/ci.md"
        ).read_text() == "# CI gate\nThe gate is a spawned session.\n"
        assert (base_dir / staged).read_text().startswith("---\nuri: klappy://")
        assert (base_dir / "canon/constraints/audit-gates-are-managed-agents.md").is_file()
        # Unchanged: the same file, not a copy.
        same = "canon/constraints/audit-gates-are-spawned-agent-sessions.md"
        assert (base_dir / same).stat().st_ino == (repo / same).stat().st_ino
        assert (laid_out.head_dir / "docs/ci.md").read_text() == (repo / "docs/ci.md").read_text()
        assert laid_out.merge_base_dir is not None
        assert (laid_out.merge_base_dir / "docs/release.md").read_text() == "Tag.\n"
    assert not base_dir.exists()
