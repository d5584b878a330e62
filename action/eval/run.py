"""Run the real audit over each case of a corpus, as a PR would be audited.

Each case becomes a small git repository: `base/` committed on `main`, then `head/` committed on
top of it, so the merge-base is the base, and the governance key is read from a real commit. The
two commits are extracted with `git archive`, as `canon-gate audit` extracts them, and audited by
`action.audit.runner.run_audit` with the harness passed in: the same code path as the gate.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from action.audit.collect import fail
from action.audit.inputs import AuditInputs
from action.audit.runner import run_audit
from action.eval.corpus import Case
from action.eval.score import Run
from action.report import REPORT_FILENAME, ErrorKind, Report
from action.session.harness import Harness

log = logging.getLogger(__name__)

BRANCH = "main"
# Fixed identity and dates: a case's commits get the same SHAs on every run and machine.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "canon-gate eval",
    "GIT_AUTHOR_EMAIL": "eval@canon-gate.invalid",
    "GIT_COMMITTER_NAME": "canon-gate eval",
    "GIT_COMMITTER_EMAIL": "eval@canon-gate.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+0000",
    # The user's own git config (signing, hooks, templates) is no part of a case.
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@dataclass(frozen=True)
class Staged:
    """A case as a PR: the repository, both trees extracted, and both commits."""

    repo: Path
    base_dir: Path
    head_dir: Path
    base_sha: str
    head_sha: str


def _git(repo: Path, env: Mapping[str, str], *args: str) -> bytes:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env=dict(env)
    )
    return done.stdout


def _commit(repo: Path, env: Mapping[str, str], tree: Path, message: str) -> str:
    """Make the work tree exactly `tree`, commit it, and return the commit."""
    for entry in repo.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(tree, repo, symlinks=True, dirs_exist_ok=True, copy_function=shutil.copy)
    # Hash every file afresh: a head file of the base's size and mtime (the corpus's files are
    # written together) would otherwise look unchanged to git's stat cache.
    (repo / ".git" / "index").unlink(missing_ok=True)
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "--allow-empty", "--no-verify", "-m", message)
    return _git(repo, env, "rev-parse", "HEAD").decode().strip()


def _extract(repo: Path, env: Mapping[str, str], commit: str, dest: Path) -> None:
    data = _git(repo, env, "archive", "--format=tar", commit)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def stage(case: Case, root: Path, path: str) -> Staged:
    """Commit the case's base, then its head, and extract both as the audit's checkouts."""
    env = {"PATH": path, "HOME": str(root), "LC_ALL": "C", **_GIT_ENV}
    repo = root / "repo"
    repo.mkdir(parents=True)
    _git(repo, env, "init", "-q", "-b", BRANCH)
    base_sha = _commit(repo, env, case.base, f"{case.name}: base")
    head_sha = _commit(repo, env, case.head, f"{case.name}: the change under review")
    staged = Staged(repo, root / "base", root / "head", base_sha, head_sha)
    _extract(repo, env, base_sha, staged.base_dir)
    _extract(repo, env, head_sha, staged.head_dir)
    return staged


def inputs_for(case: Case, staged: Staged, gate: str | None) -> AuditInputs:
    """What the runner is asked to judge: the case as a local audit of a PR on `main`."""
    return AuditInputs(
        base_dir=staged.base_dir,
        head_dir=staged.head_dir,
        repo=None,
        head_sha=staged.head_sha,
        base_sha=staged.base_sha,
        # The head is a child of the base: the diff is taken from the base itself.
        merge_base_sha=staged.base_sha,
        canon_ref=BRANCH,
        base_git=staged.repo,
        base_commit=staged.base_sha,
        # The user's own machine and corpus: the hints run here, as `canon-gate audit` runs them.
        hints_in_process=True,
        gate=gate,
    )


async def run_case(
    case: Case, env: Mapping[str, str], harness: Harness, gate: str | None, work: Path
) -> Report:
    """Audit one case once; a case that cannot be staged is a report not evaluated, never a pass."""
    # The case's name is in every path the session is shown, so a run can be told from its prompt.
    root = Path(tempfile.mkdtemp(prefix="run-", dir=work)) / case.name
    try:
        staged = stage(case, root, env.get("PATH") or os.defpath)
    except (OSError, subprocess.CalledProcessError, tarfile.TarError) as exc:
        log.warning("eval.stage_failed case=%s error=%s", case.name, type(exc).__name__)
        return fail(Report(), f"the case could not be staged: {exc}", ErrorKind.CRASH)
    return await run_audit(inputs_for(case, staged, gate), env, harness, work_dir=root)


def report_path(out: Path, case: str, sample: int) -> Path:
    """Where `--out` keeps one run's report."""
    return out / case / f"sample-{sample}" / REPORT_FILENAME


async def run_corpus(
    cases: Sequence[Case],
    *,
    samples: int,
    env: Mapping[str, str],
    harness: Harness,
    gate: str | None = None,
    out: Path | None = None,
    progress: Callable[[Run, int, int], None] | None = None,
) -> list[Run]:
    """Run every case `samples` times, one session at a time, in corpus order."""
    runs: list[Run] = []
    total = len(cases) * samples
    with tempfile.TemporaryDirectory(prefix="canon-gate-eval-") as tmp:
        for sample in range(1, samples + 1):
            for case in cases:
                report = await run_case(case, env, harness, gate, Path(tmp))
                run = Run(case, sample, report)
                runs.append(run)
                if out is not None:
                    path = report_path(out, case.name, sample)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
                if progress is not None:
                    progress(run, len(runs), total)
    return runs
