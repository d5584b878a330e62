"""`canon-gate audit`: run the same audit as the Action on a local git checkout.

The base and head are extracted with `git archive` into temporary trees (the head defaults to the
working tree itself, uncommitted changes included), then audited by the same runner. Exit status:
0 pass, 1 fail, 3 not evaluated (2 stays argparse's usage error).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from action.runner import AuditInputs, run_audit
from action.session import SdkHarness
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
    with tempfile.TemporaryDirectory(prefix="canon-gate-audit-") as tmp:
        base_dir = Path(tmp) / "base"
        _extract(repo, base_sha, base_dir)
        if args.head:
            head_dir = Path(tmp) / "head"
            _extract(repo, head_sha, head_dir)
        else:
            head_dir = repo
        inputs = AuditInputs(
            base_dir=base_dir,
            head_dir=head_dir,
            head_sha=head_sha,
            base_sha=base_sha,
            canon_ref=base_ref,
        )
        report = asyncio.run(run_audit(inputs, dict(os.environ), SdkHarness()))
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(table(report) + "\n")
    return EXIT[report.status]
