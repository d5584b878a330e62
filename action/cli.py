"""`canon-gate audit`: run the same audit as the Action on a local git checkout.

The base and the merge-base are commits; without `--head` the head is the working tree as git
would commit it (`checkouts.py` lays them out, borrowing what the working tree holds). The canon
sources the base's config names are fetched as the Action's step
fetches them. It runs what the workflow runs: the structural check, then each gate whose needs
passed. Exit status: 1 if any gate or the structural check failed, else 3 if any was not
evaluated, else 0; 2 is a usage error (argparse's, or a repository, ref or gate that is not
there), said in one line.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from action.audit.inputs import AuditInputs
from action.audit.plan import plan
from action.audit.progress import Progress, Silent
from action.audit.runner import run_audit
from action.canon.sources import TOKEN_SECRET, fetch_all
from action.checkouts import (
    Trees,
    UsageError,
    commit,
    git,
    git_status,
    has_change,
    resolve_base,
    trees,
)
from action.config import CONFIG_PATH, ConfigError, load_config
from action.gates import gate_names
from action.report import DEFAULT_GATE, STRUCTURE, Report
from action.sarif import installed_version, to_sarif
from action.session.harness import SdkHarness
from action.summary import outcome
from action.terminal import TerminalProgress, render


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
        repo = Path(git(Path(args.repo), "rev-parse", "--show-toplevel").decode().strip())
    except (subprocess.CalledProcessError, NotADirectoryError):
        raise UsageError(f"{args.repo} is not inside a git repository") from None
    head_ref = args.head or "HEAD"
    if args.head is None and git_status(repo, "rev-parse", "--verify", "--quiet", "HEAD") != 0:
        raise UsageError(f"{repo} has no commits yet: commit the branch the change is based on")
    head_sha = commit(repo, head_ref, "--head")
    if args.base:
        base_name, base_sha = args.base, commit(repo, args.base, "--base")
    else:
        base_name, base_sha = resolve_base(repo, head_ref)
    governs = f"{base_name}@{base_sha[:7]}"
    if not git(repo, "ls-tree", base_sha).strip():
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
        if not has_change(repo, since, head_sha, worktree=not args.head):
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
