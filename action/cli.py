"""`canon-gate audit`: run the same audit as the Action on a local git checkout.

The session and the runner only read the trees they audit, so nothing is copied that need not
be: a file the working tree already holds with the same content is a hard link to it, where the
filesystem allows, and git's own checkout writes only the rest. The base and the merge-base are
commits; without `--head` the head is what `git add -A` would commit: tracked and untracked
files, uncommitted changes included, minus whatever `.gitignore` excludes (a `.venv` is not part
of the change). The canon sources the base's config names are fetched as the Action's step
fetches them. It runs what the workflow runs: the structural check, then each gate whose needs
passed. Exit status: 1 if any gate or the structural check failed, else 3 if any was not
evaluated, else 0; 2 is a usage error (argparse's, or a repository, ref or gate that is not
there), said in one line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
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
from action.audit.progress import Progress, Silent
from action.audit.runner import run_audit
from action.canon.sources import TOKEN_SECRET, fetch_all
from action.config import CONFIG_PATH, ConfigError, load_config
from action.errors import CanonGateError
from action.gates import gate_names
from action.report import DEFAULT_GATE, STRUCTURE, Report
from action.sarif import installed_version, to_sarif
from action.session.harness import SdkHarness
from action.summary import outcome
from action.terminal import TerminalProgress, render

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


class UsageError(CanonGateError):
    """The command cannot run as asked; the message says why, on one line."""


def _commit(repo: Path, ref: str, what: str) -> str:
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except subprocess.CalledProcessError:
        raise UsageError(f"{what} {ref!r} is not a commit in {repo}") from None


def _resolve_base(repo: Path, head: str) -> tuple[str, str]:
    """The default base, and its name: where `head` left the first of origin/HEAD, origin/main,
    main and master that exists."""
    for candidate in _DEFAULT_BASES:
        try:
            sha = _git(repo, "merge-base", candidate, head).decode().strip()
        except subprocess.CalledProcessError:
            continue
        if candidate == "origin/HEAD":
            # Name the branch origin/HEAD stands for (origin/main, origin/trunk, ...).
            with contextlib.suppress(subprocess.CalledProcessError):
                candidate = _git(repo, "rev-parse", "--abbrev-ref", candidate).decode().strip()
        return candidate, sha
    raise UsageError(
        "found no main or master branch (nor origin/HEAD) to compare with; pass the branch "
        "this change will merge into, e.g. --base develop"
    )


def _has_change(repo: Path, since: str, head: str, worktree: bool) -> bool:
    """Whether the head (or the working tree, untracked files included) differs from `since`."""
    if not worktree:
        return _git_status(repo, "diff", "--quiet", since, head, "--") != 0
    if _git_status(repo, "diff", "--quiet", since, "--") != 0:
        return True
    return bool(_git(repo, "ls-files", "-z", "--others", "--exclude-standard").strip(b"\0"))


def _git_status(repo: Path, *args: str) -> int:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True).returncode


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
    """Audit, print the reports, and exit as CI would judge them; a usage error is one line."""
    try:
        return _run(args)
    except UsageError as exc:
        sys.stderr.write(f"canon-gate audit: {exc}\n")
    except subprocess.CalledProcessError as exc:
        said = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        command = " ".join(str(a) for a in exc.cmd[3:5])
        why = said[0] if said else f"exit status {exc.returncode}"
        sys.stderr.write(f"canon-gate audit: git {command} failed: {why}\n")
    except FileNotFoundError as exc:
        if exc.filename != "git":
            raise
        sys.stderr.write("canon-gate audit: git is not installed; it reads the repository\n")
    except KeyboardInterrupt:
        # The harness's cleanup has killed the session by now.
        sys.stderr.write("canon-gate audit: interrupted\n")
        return 130
    return 2


def _run(args: argparse.Namespace) -> int:
    try:
        repo = Path(_git(Path(args.repo), "rev-parse", "--show-toplevel").decode().strip())
    except (subprocess.CalledProcessError, NotADirectoryError):
        raise UsageError(f"{args.repo} is not inside a git repository") from None
    head_ref = args.head or "HEAD"
    if args.head is None and _git_status(repo, "rev-parse", "--verify", "--quiet", "HEAD") != 0:
        raise UsageError(f"{repo} has no commits yet: commit the branch the change is based on")
    head_sha = _commit(repo, head_ref, "--head")
    if args.base:
        base_name, base_sha = args.base, _commit(repo, args.base, "--base")
    else:
        base_name, base_sha = _resolve_base(repo, head_ref)
    governs = f"{base_name}@{base_sha[:7]}"
    if not _git(repo, "ls-tree", base_sha).strip():
        raise UsageError(
            f"{governs} holds no files, so nothing would govern the change: commit the config "
            f"(`canon-gate init` writes one) and the canon to {base_name} first, or pass --base"
        )
    under_review = f"{args.head}@{head_sha[:7]}" if args.head else "the working tree"
    say(f"config and canon from {governs}; auditing {under_review}")
    with trees(repo, base_sha, head_sha, worktree=not args.head) as tree:
        _check_gate(tree.base_dir, args.gate, governs)
        if _differs(tree, CONFIG_PATH):
            say(
                f"note: {CONFIG_PATH} in {under_review} differs from {governs}'s, and has no "
                f"effect here: what governs comes from the base, so a change cannot alter the "
                f"rules that judge it (commit it to {base_name} first)"
            )
        since = tree.merge_base or base_sha
        if not _has_change(repo, since, head_sha, worktree=not args.head):
            say(f"{under_review} holds no change from {governs}: nothing to audit, no session")
        _fetch_sources(tree.base_dir)
        inputs = AuditInputs(
            base_dir=tree.base_dir,
            head_dir=tree.head_dir,
            merge_base_dir=tree.merge_base_dir,
            head_sha=head_sha,
            base_sha=base_sha,
            merge_base_sha=tree.merge_base,
            canon_ref=base_name,
            base_git=repo,
            base_commit=base_sha,
            # The user's own machine: the hints run here, as the user would run them.
            hints_in_process=True,
            gate=args.gate,
        )
        # Progress only for a person at a terminal: a pipe or a log gets the reports alone.
        progress = TerminalProgress(sys.stderr) if sys.stderr.isatty() else Silent()
        reports = asyncio.run(audit_all(inputs, dict(os.environ), progress))
    status = exit_status(reports)
    if args.format == "json":
        sys.stdout.write(_as_json(reports) + "\n")
    elif args.format == "sarif":
        sys.stdout.write(json.dumps(to_sarif(reports, installed_version()), indent=2) + "\n")
    else:
        # Text from a report may hold what this terminal cannot encode: never a crash for it.
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(errors="replace")
        width = shutil.get_terminal_size().columns
        sys.stdout.write(render(reports, width, status) + "\n")
    return status


def say(line: str) -> None:
    """One line for the person running the audit, on stderr (stdout holds the reports)."""
    sys.stderr.write(f"canon-gate audit: {line}\n")


def _check_gate(base_dir: Path, gate: str | None, governs: str) -> None:
    """Refuse `--gate NAME` when the base's config defines no such gate (a broken config is
    the runner's to report)."""
    if gate is None:
        return
    try:
        names = gate_names(load_config(base_dir))
    except ConfigError:
        return
    if gate not in names:
        raise UsageError(
            f"--gate {gate!r}: the config at {governs} defines no such gate "
            f"(it defines: {', '.join(names)})"
        )


def _differs(tree: Trees, path: str) -> bool:
    base, head = tree.base_dir / path, tree.head_dir / path
    read = [p.read_bytes() if p.is_file() else None for p in (base, head)]
    return read[0] != read[1]


async def audit_all(
    inputs: AuditInputs, env: dict[str, str], progress: Progress | None = None
) -> list[Report]:
    """The structural check, then each gate in its wave, as the workflow runs them: a gate
    whose needs failed starts no session. With `inputs.gate`, that gate alone (its gate needs
    are not run, so not checked; the structural one is)."""
    progress = progress or Silent()
    planned = plan(inputs)
    progress.done(planned.structure)
    reports = [planned.structure]
    done: dict[str, Report] = {STRUCTURE: planned.structure}
    for gate in [*planned.first, *planned.later]:
        each = replace(inputs, gate=gate, need_reports=dict(done), check_gate_needs=not inputs.gate)
        report = await run_audit(each, env, SdkHarness(), progress=progress)
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
