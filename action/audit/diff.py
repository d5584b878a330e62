"""Compute the PR's change as a unified diff between two trees: where it started, and its head.

The start is the merge-base of the PR and its base (the base tip when no merge-base is given), so
commits that landed on the base after the PR branched are not read as the PR reverting them. Both
planes hand the runner plain directories (the Action's checkouts; the CLI's `git archive` extracts),
so the diff is taken between trees, not from git history.

Nothing the PR changes is left out: only `.git` (which git never lets a tree carry) and the data
checkouts the caller names (nested in the Action's base workspace) are skipped. A symbolic link is
a change like any file, shown as `symlink -> target`; nothing is ever read through a link.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 512_000
# Characters a path may hold that could end a line or hide text from a reader: control and
# format characters (bidi overrides), separators, unassigned and private code points.
_UNSAFE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp", "Zs"})


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added | modified | deleted
    diff: str


def quoted(text: str) -> str:
    """Quote PR-controlled text (a file name) as one JSON string that cannot leave its line.

    Quotes, backslashes and every unsafe character are escaped (`\\n`, `\\u202e`), so a name can
    neither break a line nor close a delimiter; other non-ASCII letters stay readable.
    """
    out = []
    for char in json.dumps(text, ensure_ascii=False):
        if char != " " and unicodedata.category(char) in _UNSAFE:
            out.append(json.dumps(char)[1:-1])  # json.dumps escapes it as \uXXXX (pairs above)
        else:
            out.append(char)
    return "".join(out)


def _label(name: str) -> str:
    """A name for a diff header: as is when plain, quoted (as git does) otherwise."""
    return name if quoted(name) == f'"{name}"' and " " not in name else quoted(name)


def _entries(root: Path, skip: frozenset[Path]) -> dict[str, Path]:
    """Every regular file and symlink under `root`, by relative path; links are never followed."""
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    root = root.resolve()
    folders = [root]
    while folders:
        with os.scandir(folders.pop()) as scan:
            for entry in scan:
                path = Path(entry.path)
                if entry.name == ".git" or path in skip:
                    continue
                if entry.is_symlink() or entry.is_file(follow_symlinks=False):
                    found[path.relative_to(root).as_posix()] = path
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(path)
    return found


def _in_scope(path: str, include: list[str], exclude: list[str]) -> bool:
    """Apply the config's audit globs (`**` matches anything)."""

    def hit(patterns: list[str]) -> bool:
        return any(
            fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.rstrip("/") + "/*")
            for p in patterns
        )

    return hit(include) and not hit(exclude)


def _content(path: Path | None) -> bytes | str | None:
    """What a tree holds at a path: a file's bytes, a link's target (a str), or nothing."""
    if path is None:
        return None
    return os.readlink(path) if path.is_symlink() else path.read_bytes()


def _lines(content: bytes | str | None) -> list[str] | None:
    """The lines a diff shows; None for a binary or oversized file."""
    if content is None:
        return []
    if isinstance(content, str):
        return [f"symlink -> {_label(content)}\n"]
    if len(content) > MAX_FILE_BYTES:
        return None
    try:
        return content.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def changes(
    base: Path,
    head: Path,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    skip: Iterable[Path] = (),
) -> list[FileChange]:
    """List the paths that differ between the trees, each with its unified diff.

    `skip` names the data checkouts nested inside either tree (the Action's PR head and
    merge-base inside its base workspace); they are data, never part of the change.
    """
    skipped = frozenset(p.resolve() for p in skip)
    before, after = _entries(base, skipped), _entries(head, skipped)
    result: list[FileChange] = []
    for rel in sorted(set(before) | set(after)):
        if not _in_scope(rel, include or ["**"], exclude or []):
            continue
        old, new = _content(before.get(rel)), _content(after.get(rel))
        if old == new:
            continue
        status = "added" if old is None else "deleted" if new is None else "modified"
        a, b = _lines(old), _lines(new)
        if a is None or b is None:
            text = f"Binary or oversized file {quoted(rel)} {status}\n"
        else:
            lines = difflib.unified_diff(
                a,
                b,
                _label(f"a/{rel}"),
                _label(f"b/{rel}"),
                "symlink" if isinstance(old, str) else "",
                "symlink" if isinstance(new, str) else "",
                n=3,
            )
            text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        result.append(FileChange(rel, status, text))
    return result
