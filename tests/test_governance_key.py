"""The governance key: what governs a verdict, hashed the same way by both planes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from action.config import CONFIG_PATH
from action.governance import Governs, canon_roots, governance_key, governs_from_git


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def test_canon_roots_cover_globs_and_normalise_paths() -> None:
    assert canon_roots(["canon", "./canon/", "/canon"]) == ("canon",)
    assert canon_roots(["docs/adr/*.md", "docs/**/x.md"]) == ("docs", "docs/adr")
    assert canon_roots([".", "*.md"]) == ("",)


def test_the_key_changes_only_with_what_governs(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    first = commit(tmp_path, {"canon/a.md": "A\n", "src/x.py": "x = 1\n"}, "one")
    unrelated = commit(tmp_path, {"src/x.py": "x = 2\n"}, "code moves on")
    canon_edit = commit(tmp_path, {"canon/a.md": "A, amended\n"}, "canon changes")
    config_edit = commit(tmp_path, {CONFIG_PATH: "ledger: false\n"}, "config appears")

    def key(sha: str, gate: str = "canon-gate") -> str:
        return governance_key(governs_from_git(tmp_path, sha, ["canon"], gate=gate))

    assert key(first) == key(unrelated)  # main moved, nothing that governs did
    assert key(unrelated) != key(canon_edit)
    assert key(canon_edit) != key(config_edit)
    assert key(first) != key(first, gate="code-sync")
    assert key(first).startswith("gk1-")


def test_missing_parts_are_part_of_the_key(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    sha = commit(tmp_path, {"README.md": "hi\n"}, "no canon, no config")
    governs = governs_from_git(tmp_path, sha, ["canon"])
    assert governs == Governs(config=None, canon=(("canon", None),))
    with_source = Governs(config=None, canon=(("canon", None),), sources=(("kb", "c" * 40),))
    assert governance_key(governs) != governance_key(with_source)
