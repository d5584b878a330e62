"""`canon-gate audit`: run the same audit as the Action on a local git checkout.

The session and the runner only read the trees they audit, so nothing is copied that need not
be: a file the working tree already holds with the same content is a hard link to it, where the
filesystem allows, and git's own checkout writes only the rest. The base and the merge-base are
commits; without `--head` the head is what `git add -A` would commit: tracked and untracked
files, uncommitted changes included, minus whatever `.gitignore` excludes (a `.venv` is not part
of the change). The canon sources the base's config names are fetched as the Action's step
fetches them. It runs what the workflow runs: the structural check, then each gate whose needs
passed. Exit status: 1 if any gate or the structural check failed, else 3 if any was not
evaluated, else 0 (2 stays argparse's usage error).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from action.audit.inputs import AuditInputs
from action.audit.plan import plan
from action.audit.runner import run_audit
from action.canon.sources import TOKEN_SECRET, fetch_all
from action.config import ConfigError, load_config
from action.report import DEFAULT_GATE, STRUCTURE, Report
from action.sarif import installed_version, to_sarif
from action.session.harness import SdkHarness
from action.summary import outcome, table

_DEFAULT_BASES = ("origin/HEAD", "origin/main", "main", "master")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", help="the governing ref (default: merge-base with main)")
    parser.add_argument("--head", help="the ref under review (default: the working tree)")
    parser.add_argument(
        "--format",
        choices=("table", "json", "sarif"),
        default="table",
        help="table (default), json (the reports), or sarif (SARIF 2.1.0, for code scanning)",
    )
    parser.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="the same as --format json",
    )
    parser.add_argument(
        "--gate",
        help="audit one configured gate (default: the structural check, then every gate)",
    )
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


def _unchanged(repo: Path) -> dict[str, tuple[str, str]]:
    """The working tree's files whose content is the index's: path -> (mode, blob id)."""
    staged = _git(repo, "ls-files", "-s", "-z").decode("utf-8", "surrogateescape")
    changed = _git(repo, "ls-files", "-m", "-d", "-z").decode("utf-8", "surrogateescape")
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
    listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", ref)
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
        git = ["git", "-C", str(repo)]
        subprocess.run([*git, "read-tree", f"{ref}^{{tree}}"], env=env, check=True)
        names = "\0".join(pending).encode("utf-8", "surrogateescape") + b"\0"
        subprocess.run(
            [*git, "checkout-index", "-f", "-z", "--stdin", f"--prefix={dest}/"],
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
    listed = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
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
        merge_base: str | None = _git(repo, "merge-base", base_sha, head_sha).decode().strip()
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


def _fetch_sources(base_dir: Path) -> None:
    """Fetch the canon sources the base's config names, as the Action's step does."""
    try:
        config = load_config(base_dir)
    except ConfigError:
        return  # the runner reports it
    if config.canon.sources:
        server = os.environ.get("GITHUB_SERVER_URL") or "https://github.com"
        fetch_all(base_dir, config.canon.sources, server, os.environ.get(TOKEN_SECRET))


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
    with trees(repo, base_sha, head_sha, worktree=not args.head) as tree:
        _fetch_sources(tree.base_dir)
        inputs = AuditInputs(
            base_dir=tree.base_dir,
            head_dir=tree.head_dir,
            merge_base_dir=tree.merge_base_dir,
            head_sha=head_sha,
            base_sha=base_sha,
            merge_base_sha=tree.merge_base,
            canon_ref=base_ref,
            base_git=repo,
            base_commit=base_sha,
            # The user's own machine: the hints run here, as the user would run them.
            hints_in_process=True,
            gate=args.gate,
        )
        reports = asyncio.run(audit_all(inputs, dict(os.environ)))
    if args.format == "json":
        sys.stdout.write(_as_json(reports) + "\n")
    elif args.format == "sarif":
        sys.stdout.write(json.dumps(to_sarif(reports, installed_version()), indent=2) + "\n")
    else:
        sys.stdout.write("\n\n".join(table(r) for r in reports) + "\n")
    return exit_status(reports)


async def audit_all(inputs: AuditInputs, env: dict[str, str]) -> list[Report]:
    """The structural check, then each gate in its wave, as the workflow runs them: a gate
    whose needs failed starts no session. With `inputs.gate`, that gate alone (its gate needs
    are not run, so not checked; the structural one is)."""
    planned = plan(inputs)
    reports = [planned.structure]
    done: dict[str, Report] = {STRUCTURE: planned.structure}
    for gate in [*planned.first, *planned.later]:
        each = replace(inputs, gate=gate, need_reports=dict(done), check_gate_needs=not inputs.gate)
        report = await run_audit(each, env, SdkHarness())
        done[gate] = report
        reports.append(report)
    return reports


def exit_status(reports: list[Report]) -> int:
    """1 if any gate or the structural check failed, else 3 if any was not evaluated, else 0."""
    said = [outcome(r) for r in reports]
    if "fail" in said:
        return 1
    return 3 if "not_evaluated" in said else 0


def _as_json(reports: list[Report]) -> str:
    """The one gate's report as before gates existed; else every report, the structural first."""
    _, *gates = reports
    if len(gates) == 1 and gates[0].run.gate == DEFAULT_GATE:
        return gates[0].model_dump_json(indent=2)
    joined = ",\n".join(r.model_dump_json(indent=2) for r in reports)
    return f'{{"reports": [\n{joined}\n]}}'
