"""`canon-gate structure`: the structural check of canon frontmatter, on the working tree.

It checks what CI's `canon-gate/structure` check would: all canon, the canon among the given
paths (as a pre-commit hook passes them), or what changed against `--base`. The config comes
from `--base` when given (as in CI, where the base branch's config governs), else from the
working tree; the first line of the output says which. Statuses are learned from the base (or
from HEAD), links resolve against the canon with the working tree's changes applied and against
the files git would commit, and the canon sources the config names are fetched as the Action
fetches them (one that cannot be is left unchecked, and said so).

Output: `path:line: rule: message`, one problem a line. Exit status: 0 clean, 1 problems,
2 usage errors (an unknown ref, a missing path, an invalid config or an empty canon).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from action.canon.checkout import Checkout, CommitTree, is_canon_path
from action.canon.document import CanonDoc
from action.canon.model import Canon, CanonProblem, SourceInfo, load_canon, require_documents
from action.canon.sources import TOKEN_SECRET, fetch_all, load_sources, unusable
from action.canon.structure import check_structure, known_statuses
from action.config import CONFIG_PATH, Config, ConfigError, load_config, parse_config
from action.report import StructureProblem

USAGE, PROBLEMS, CLEAN = 2, 1, 0


class UsageError(Exception):
    """What the user asked for cannot be done; the message says why (exit status 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="check the canon among these (default: all)"
    )
    parser.add_argument("--base", help="check what changed against REF, under REF's config")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("-C", dest="repo", default=".", help="the repository (default: .)")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return done.stdout


def _z(text: str) -> list[str]:
    return [item for item in text.split("\0") if item]


@dataclass
class Result:
    config: str
    checked: list[str] = field(default_factory=list)
    problems: list[StructureProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _config(repo: Path, base: CommitTree | None, ref: str | None) -> tuple[Config, str]:
    """The config that governs, and the words saying where it came from."""
    try:
        if base is None:
            said = f"the working tree's {CONFIG_PATH}"
            if not (repo / CONFIG_PATH).is_file():
                return Config(), f"the defaults (the working tree has no {CONFIG_PATH})"
            return load_config(repo), said
        text = base.text(CONFIG_PATH)
        if text is None:
            return Config(), f"the defaults ({ref} has no {CONFIG_PATH})"
        return parse_config(text, source=f"{ref}:{CONFIG_PATH}"), f"{ref}:{CONFIG_PATH}"
    except ConfigError as exc:
        raise UsageError(f"the config is invalid: {exc}") from None


def _sources(config: Config, notes: list[str]) -> tuple[list[tuple[SourceInfo, Canon]], list[str]]:
    """Fetch the canon sources as the Action does; those that fail are left unchecked."""
    if not config.canon.sources:
        return [], []
    with tempfile.TemporaryDirectory(prefix="canon-gate-sources-") as tmp:
        server = os.environ.get("GITHUB_SERVER_URL") or "https://github.com"
        fetched = fetch_all(Path(tmp), config.canon.sources, server, os.environ.get(TOKEN_SECRET))
        readable = [f for f in fetched if f.commit is not None]
        opaque = [f.prefix for f in fetched if f.commit is None]
        notes += [
            f"{why}; links into it are not checked" for f in fetched if (why := unusable([f]))
        ]
        try:
            return load_sources(Path(tmp), readable), opaque
        except CanonProblem as exc:
            notes.append(f"{exc}; links into the canon sources are not checked")
            return [], [f.prefix for f in fetched]


def _changed(repo: Path, ref: str) -> tuple[list[str], set[str]]:
    """The working tree's changes from the merge-base of `ref` and HEAD: (present, deleted)."""
    try:
        start = _git(repo, "merge-base", ref, "HEAD").strip()
    except subprocess.CalledProcessError:
        start = ref  # unrelated histories, or no HEAD yet: compare with the base itself
    rows = _z(_git(repo, "diff", "--name-status", "-z", "--no-renames", start))
    present: list[str] = []
    deleted: set[str] = set()
    for status, path in zip(rows[::2], rows[1::2], strict=True):
        if status.startswith("D"):
            deleted.add(path)
        else:
            present.append(path)
    present += _z(_git(repo, "ls-files", "-z", "--others", "--exclude-standard"))
    return sorted(set(present)), deleted


def _selected(repo: Path, paths: Sequence[str], canon: list[str]) -> list[str]:
    """The canon documents among the given paths (a folder stands for what is under it)."""
    chosen: set[str] = set()
    for given in paths:
        path = Path(given).resolve()
        if not path.exists():
            raise UsageError(f"no such file or folder: {given}")
        try:
            rel = path.relative_to(repo.resolve()).as_posix()
        except ValueError:
            raise UsageError(f"{given} is outside the repository {repo}") from None
        if path.is_dir():
            prefix = "" if rel == "." else rel + "/"
            chosen.update(c for c in canon if c.startswith(prefix))
        elif rel in canon:
            chosen.add(rel)
    return sorted(chosen)


def check(repo: Path, paths: Sequence[str], base_ref: str | None) -> Result:
    """Run the check on a repository's working tree; raise UsageError for what cannot be."""
    base = None
    if base_ref is not None:
        try:
            commit = _git(repo, "rev-parse", "--verify", "-q", f"{base_ref}^{{commit}}").strip()
        except subprocess.CalledProcessError:
            raise UsageError(f"unknown ref {base_ref!r}") from None
        base = CommitTree(repo, commit)
    config, said = _config(repo, base, base_ref)
    result = Result(config=said)
    if not config.structure.enabled:
        result.notes.append("the structural check is off (`structure.enabled: false`)")
        return result
    listed = _z(_git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard"))
    tree = Checkout(repo, listed=[p for p in listed if os.path.lexists(repo / p)])
    current = load_canon(tree, config.canon.paths)
    try:
        require_documents(current, tree, config.canon.paths)
    except CanonProblem as exc:
        raise UsageError(str(exc)) from None
    canon = tree.canon(config.canon.paths)
    deleted: set[str] = set()
    if paths:
        chosen = _selected(repo, paths, canon)
    elif base is not None:
        present, deleted = _changed(repo, base.commit)
        chosen = [p for p in present if is_canon_path(p, config) and p in tree.files()]
        deleted = {p for p in deleted if is_canon_path(p, config)}
    else:
        chosen = canon
    result.checked = chosen
    if not chosen and not deleted:
        return result
    if base is None:
        # No base: the working tree's canon is what links resolve against, statuses are those
        # HEAD already uses (a status new in the working tree is the one a typo makes).
        union = {rel: tree.read(rel) for rel in canon}
        head = _head(repo)
        learned = known_statuses(config, _docs(head, config) if head else union.values())
    else:
        union = {rel: base.read(rel) for rel in base.canon(config.canon.paths)}
        learned = known_statuses(config, union.values())
    sources, opaque = _sources(config, result.notes)
    symlinks = [p for p in chosen if tree.is_link(p)]
    changed = {p: tree.read(p) for p in chosen if p not in symlinks}
    result.problems = check_structure(
        changed,
        union,
        config,
        deleted=deleted,
        files=tree.files(),
        sources=sources,
        statuses=learned,
        opaque=opaque,
    )
    result.problems += [
        StructureProblem(
            path=p,
            rule="symlink",
            message="A canon document must be a file, not a symbolic link; its target is not read.",
        )
        for p in symlinks
    ]
    result.problems.sort(key=lambda p: (p.path, p.line, p.rule))
    return result


def _head(repo: Path) -> CommitTree | None:
    try:
        return CommitTree(repo, _git(repo, "rev-parse", "--verify", "-q", "HEAD").strip())
    except subprocess.CalledProcessError:
        return None  # no commit yet


def _docs(tree: CommitTree, config: Config) -> list[CanonDoc]:
    return [tree.read(rel) for rel in tree.canon(config.canon.paths)]


def run(args: argparse.Namespace) -> int:
    try:
        repo = Path(_git(Path(args.repo), "rev-parse", "--show-toplevel").strip())
    except (subprocess.CalledProcessError, OSError):
        sys.stderr.write("canon-gate structure: not inside a git repository\n")
        return USAGE
    try:
        result = check(repo, args.paths, args.base)
    except UsageError as exc:
        sys.stderr.write(f"canon-gate structure: {exc}\n")
        return USAGE
    if args.json:
        out = {
            "config": result.config,
            "checked": result.checked,
            "problems": [p.model_dump() for p in result.problems],
            "notes": result.notes,
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        lines = [f"canon-gate structure: config from {result.config}"]
        lines += [f"{p.path}:{p.line}: {p.rule}: {p.message}" for p in result.problems]
        lines += [f"note: {note}" for note in result.notes]
        documents = len({p.path for p in result.problems})
        lines.append(
            f"{len(result.problems)} problem(s) in {documents} of {len(result.checked)} canon "
            "document(s) checked"
            if result.problems
            else f"no problems in {len(result.checked)} canon document(s) checked"
        )
        sys.stdout.write("\n".join(lines) + "\n")
    return PROBLEMS if result.problems else CLEAN
