"""The checkouts a local `canon-gate audit` reads: the base, the merge-base and the head.

The session and the runner only read these trees, so nothing is copied that need not be: a file
the working tree already holds with the same content is a hard link to it, where the filesystem
allows, and git's own checkout writes only the rest. Without a head commit, the head is what
`git add -A` would commit: tracked and untracked files, uncommitted changes included, minus what
`.gitignore` excludes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from action.errors import CanonGateError

_DEFAULT_BASES = ("origin/HEAD", "origin/main", "main", "master")


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


class UsageError(CanonGateError):
    """The command cannot run as asked; the message says why, on one line."""


def commit(repo: Path, ref: str, what: str) -> str:
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except subprocess.CalledProcessError:
        raise UsageError(f"{what} {ref!r} is not a commit in {repo}") from None


def resolve_base(repo: Path, head: str) -> tuple[str, str]:
    """The default base, and its name: where `head` left the first of origin/HEAD, origin/main,
    main and master that exists."""
    for candidate in _DEFAULT_BASES:
        try:
            sha = git(repo, "merge-base", candidate, head).decode().strip()
        except subprocess.CalledProcessError:
            continue
        if candidate == "origin/HEAD":
            # Name the branch origin/HEAD stands for (origin/main, origin/trunk, ...).
            with contextlib.suppress(subprocess.CalledProcessError):
                candidate = git(repo, "rev-parse", "--abbrev-ref", candidate).decode().strip()
        return candidate, sha
    raise UsageError(
        "found no main or master branch (nor origin/HEAD) to compare with; pass the branch "
        "this change will merge into, e.g. --base develop"
    )


def has_change(repo: Path, since: str, head: str, worktree: bool) -> bool:
    """Whether the head (or the working tree, untracked files included) differs from `since`."""
    if not worktree:
        return git_status(repo, "diff", "--quiet", since, head, "--") != 0
    if git_status(repo, "diff", "--quiet", since, "--") != 0:
        return True
    return bool(git(repo, "ls-files", "-z", "--others", "--exclude-standard").strip(b"\0"))


def git_status(repo: Path, *args: str) -> int:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True).returncode


def _unchanged(repo: Path) -> dict[str, tuple[str, str]]:
    """The working tree's files whose content is the index's: path -> (mode, blob id)."""
    staged = git(repo, "ls-files", "-s", "-z").decode("utf-8", "surrogateescape")
    changed = git(repo, "ls-files", "-m", "-d", "-z").decode("utf-8", "surrogateescape")
    dirty = set(changed.split("\0"))
    found = {}
    for row in staged.split("\0"):
        meta, _, path = row.partition("\t")
        if path and path not in dirty:
            mode, oid, _stage = meta.split()
            found[path] = (mode, oid)
    return found


def _extract(repo: Path, ref: str, dest: Path, unchanged: dict[str, tuple[str, str]]) -> None:
    """Lay a commit's tree out in `dest`; read-only, so borrow what the working tree holds.

    A file the working tree holds unchanged (same blob, same mode) is a hard link to it; git's
    own checkout (`checkout-index` from a temporary index) writes the rest, links as links.
    """
    listing = git(repo, "ls-tree", "-r", "-z", "--full-tree", ref)
    pending, linking = [], True
    for row in listing.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, path = row.partition("\t")
        if not path:
            continue
        mode, kind, oid = meta.split()
        if kind != "blob":
            continue  # a submodule: git's checkout leaves it out too
        if linking and mode in ("100644", "100755") and unchanged.get(path) == (mode, oid):
            out = dest / path
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(repo / path, out)
                continue
            except OSError:
                linking = False  # another filesystem (or no links): write from now on
        pending.append(path)
    dest.mkdir(parents=True, exist_ok=True)
    if not pending:
        return
    with tempfile.TemporaryDirectory(prefix="canon-gate-index-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        command = ["git", "-C", str(repo)]
        subprocess.run([*command, "read-tree", f"{ref}^{{tree}}"], env=env, check=True)
        names = "\0".join(pending).encode("utf-8", "surrogateescape") + b"\0"
        subprocess.run(
            [*command, "checkout-index", "-f", "-z", "--stdin", f"--prefix={dest}/"],
            env=env,
            input=names,
            check=True,
            capture_output=True,
        )


def _copy_worktree(repo: Path, dest: Path) -> None:
    """Lay out what git would commit (tracked, plus untracked but not ignored) in `dest`.

    Files are hard links to the working tree's where the filesystem allows (the session only
    reads them), else copies. A symlink is laid out as a link only when it points inside the
    repository; nothing is ever read through a link, so a worktree link to `~/.ssh` cannot leak
    into the audit.
    """
    top = repo.resolve()
    listed = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    linking = True
    for rel in sorted({r for r in listed.decode("utf-8", "surrogateescape").split("\0") if r}):
        src, out = repo / rel, dest / rel
        # Git never lists a path below a linked folder; refuse one anyway, and deleted files.
        if src.parent.resolve() != (top / rel).parent or not os.path.lexists(src):
            continue
        if src.is_symlink():
            if top == src.resolve() or top not in src.resolve().parents:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(src), out)
        elif src.is_file():  # not a submodule's folder
            out.parent.mkdir(parents=True, exist_ok=True)
            if linking:
                try:
                    os.link(src, out)
                    continue
                except OSError:
                    linking = False  # another filesystem (or no links): copy from now on
            shutil.copyfile(src, out)


@dataclass(frozen=True)
class Trees:
    """The checkouts one local audit reads, and the commits they are."""

    base_dir: Path
    head_dir: Path
    merge_base_dir: Path | None
    base_sha: str
    head_sha: str
    merge_base: str | None


@contextmanager
def trees(repo: Path, base_sha: str, head_sha: str, worktree: bool) -> Iterator[Trees]:
    """Lay out the base, the merge-base (when it differs) and the head; remove them after.

    With `worktree`, the head is the working tree (what git would commit), not `head_sha`.
    """
    try:
        merge_base: str | None = git(repo, "merge-base", base_sha, head_sha).decode().strip()
    except subprocess.CalledProcessError:
        merge_base = None  # unrelated histories: the diff is taken from the base itself
    unchanged = _unchanged(repo)
    with tempfile.TemporaryDirectory(prefix="canon-gate-audit-") as tmp:
        base_dir, head_dir = Path(tmp) / "base", Path(tmp) / "head"
        _extract(repo, base_sha, base_dir, unchanged)
        merge_base_dir = None
        if merge_base and merge_base != base_sha:
            merge_base_dir = Path(tmp) / "merge-base"
            _extract(repo, merge_base, merge_base_dir, unchanged)
        if worktree:
            _copy_worktree(repo, head_dir)
        else:
            _extract(repo, head_sha, head_dir, unchanged)
        yield Trees(base_dir, head_dir, merge_base_dir, base_sha, head_sha, merge_base)
