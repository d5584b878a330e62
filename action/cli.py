"""`canon-gate audit`: run the same audit as the Action on a local git checkout.

The base, the merge-base and the head are extracted with `git archive` into temporary trees, then
audited by the same runner. Without `--head` the head is what `git add -A` would commit: tracked and
untracked files, uncommitted changes included, minus whatever `.gitignore` excludes (a `.venv` is
not part of the change). Exit status: 0 pass, 1 fail, 3 not evaluated (2 stays argparse's usage
error).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from action.audit.inputs import AuditInputs
from action.audit.runner import run_audit
from action.session.harness import SdkHarness
from action.summary import table

EXIT = {"pass": 0, "fail": 1, "not_evaluated": 3}
_DEFAULT_BASES = ("origin/HEAD", "origin/main", "main", "master")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", help="the governing ref (default: merge-base with main)")
    parser.add_argument("--head", help="the ref under review (default: the working tree)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-C", dest="repo", default=".", help="the repository (default: .)")


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def _resolve_base(repo: Path, head: str) -> str:
    for candidate in _DEFAULT_BASES:
        try:
            return _git(repo, "merge-base", candidate, head).decode().strip()
        except subprocess.CalledProcessError:
            continue
    raise SystemExit("canon-gate audit: no main/master branch found; pass --base REF")


def _extract(repo: Path, ref: str, dest: Path) -> None:
    data = _git(repo, "archive", "--format=tar", ref)
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def _copy_worktree(repo: Path, dest: Path) -> None:
    """Copy what git would commit (tracked, plus untracked but not ignored) into `dest`.

    A symlink is copied as a link only when it points inside the repository; nothing is ever
    read through a link, so a worktree link to `~/.ssh` cannot leak into the audit.
    """
    top = repo.resolve()
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
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
            shutil.copyfile(src, out)


def run(args: argparse.Namespace) -> int:
    try:
        repo = Path(_git(Path(args.repo), "rev-parse", "--show-toplevel").decode().strip())
    except subprocess.CalledProcessError:
        sys.stderr.write("canon-gate audit: not inside a git repository\n")
        return 2
    head_ref = args.head or "HEAD"
    base_ref = args.base or _resolve_base(repo, head_ref)
    try:
        base_sha = _git(repo, "rev-parse", f"{base_ref}^{{commit}}").decode().strip()
        head_sha = _git(repo, "rev-parse", f"{head_ref}^{{commit}}").decode().strip()
    except subprocess.CalledProcessError:
        sys.stderr.write(f"canon-gate audit: unknown ref {base_ref!r} or {head_ref!r}\n")
        return 2
    try:
        merge_base: str | None = _git(repo, "merge-base", base_sha, head_sha).decode().strip()
    except subprocess.CalledProcessError:
        merge_base = None  # unrelated histories: the diff is taken from the base itself
    with tempfile.TemporaryDirectory(prefix="canon-gate-audit-") as tmp:
        base_dir, head_dir = Path(tmp) / "base", Path(tmp) / "head"
        _extract(repo, base_sha, base_dir)
        merge_base_dir = None
        if merge_base and merge_base != base_sha:
            merge_base_dir = Path(tmp) / "merge-base"
            _extract(repo, merge_base, merge_base_dir)
        if args.head:
            _extract(repo, head_sha, head_dir)
        else:
            _copy_worktree(repo, head_dir)
        inputs = AuditInputs(
            base_dir=base_dir,
            head_dir=head_dir,
            merge_base_dir=merge_base_dir,
            head_sha=head_sha,
            base_sha=base_sha,
            merge_base_sha=merge_base,
            canon_ref=base_ref,
            base_git=repo,
            base_commit=base_sha,
            # The user's own machine: the hints run here, as the user would run them.
            hints_in_process=True,
        )
        report = asyncio.run(run_audit(inputs, dict(os.environ), SdkHarness()))
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(table(report) + "\n")
    return EXIT[report.status]
