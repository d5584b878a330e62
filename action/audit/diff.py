"""Compute the PR's change as a unified diff between two trees: where it started, and its head.

The start is the merge-base of the PR and its base (the base tip when no merge-base is given), so
commits that landed on the base after the PR branched are not read as the PR reverting them. Both
planes hand the runner plain directories (the Action's checkouts; the CLI's `git archive` extracts),
so the diff is taken between trees, not from git history.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from action.canon.checkout import DATA_DIR

# Never part of the change: VCS metadata and the data checkouts nested inside the base one.
_SKIP_DIRS = frozenset({".git", DATA_DIR})
MAX_FILE_BYTES = 512_000


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added | modified | deleted
    diff: str


def _files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if _SKIP_DIRS & set(rel.parts) or path.is_symlink() or not path.is_file():
            continue
        found[rel.as_posix()] = path
    return found


def _in_scope(path: str, include: list[str], exclude: list[str]) -> bool:
    """Apply the config's audit globs (`**` matches anything)."""

    def hit(patterns: list[str]) -> bool:
        return any(
            fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.rstrip("/") + "/*")
            for p in patterns
        )

    return hit(include) and not hit(exclude)


def _read(path: Path | None) -> list[str] | None:
    if path is None:
        return []
    if path.stat().st_size > MAX_FILE_BYTES:
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def changes(
    base: Path, head: Path, include: list[str] | None = None, exclude: list[str] | None = None
) -> list[FileChange]:
    """List the files that differ between the trees, each with its unified diff."""
    before, after = _files(base), _files(head)
    result: list[FileChange] = []
    for rel in sorted(set(before) | set(after)):
        if not _in_scope(rel, include or ["**"], exclude or []):
            continue
        old, new = before.get(rel), after.get(rel)
        if old is not None and new is not None and old.read_bytes() == new.read_bytes():
            continue
        status = "added" if old is None else "deleted" if new is None else "modified"
        a, b = _read(old), _read(new)
        if a is None or b is None:
            text = f"Binary or oversized file {rel} {status}\n"
        else:
            lines = difflib.unified_diff(a, b, f"a/{rel}", f"b/{rel}", n=3)
            text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        result.append(FileChange(rel, status, text))
    return result
