"""A case is staged as a PR: the base commit, the head on top of it, both extracted exactly."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from action.eval.corpus import load_case
from action.eval.run import inputs_for, stage
from tests.action.support import write_tree


def test_the_head_is_committed_whatever_the_stat_cache_says(tmp_path: Path) -> None:
    case_dir = tmp_path / "same-size"
    write_tree(case_dir / "base", {"a.md": "---\nuri: x://a\n---\nLimit 3.\n"})
    write_tree(case_dir / "head", {"a.md": "---\nuri: x://a\n---\nLimit 5.\n"})
    (case_dir / "case.yml").write_text(yaml.safe_dump({"description": "d", "expect": []}))
    # The same size and mtime (and, replaced within a second, often the same inode and ctime):
    # only hashing the content tells them apart.
    stamp = 1_760_000_000
    for tree in ("base", "head"):
        os.utime(case_dir / tree / "a.md", (stamp, stamp))
    case = load_case(case_dir)
    staged = stage(case, tmp_path / "work" / case.name, os.environ["PATH"])
    assert (staged.head_dir / "a.md").read_text().endswith("Limit 5.\n")
    assert (staged.base_dir / "a.md").read_text().endswith("Limit 3.\n")
    parent = subprocess.run(
        ["git", "-C", str(staged.repo), "rev-parse", f"{staged.head_sha}^"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert parent == staged.base_sha
    inputs = inputs_for(case, staged, gate="docs")
    assert (inputs.base_git, inputs.base_commit) == (staged.repo, staged.base_sha)
    assert inputs.merge_base_sha == staged.base_sha
    assert inputs.merge_base_dir is None
    assert inputs.gate == "docs"
