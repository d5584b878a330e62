"""`canon-gate structure` and its pre-commit hook, run as a user runs them: the installed
console script, on a git repository built from the realistic fixture canon."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sysconfig.get_path("scripts")) / "canon-gate"
FIXTURES = ROOT / "tests/fixtures/canon"
EXPECTED = {
    line
    for line in (FIXTURES / "planted/EXPECTED").read_text().splitlines()
    if line and not line.startswith("#")
}


def git(repo: Path, *args: str) -> str:
    argv = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def structure(repo: Path, *args: str) -> tuple[int, list[str], str]:
    """Run the console script in `repo`: exit status, stdout lines, stderr."""
    done = subprocess.run(
        [str(SCRIPT), "structure", *args], cwd=repo, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout.splitlines(), done.stderr


def problems(lines: list[str]) -> set[str]:
    """`path:line: rule` of each problem line."""
    return {":".join(line.split(":")[:3]) for line in lines if line.count(":") >= 3}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The clean fixture canon, committed on main."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "clean", repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "canon")
    return repo


def plant(repo: Path) -> list[str]:
    """Apply the planted change to the working tree; return the paths it writes."""
    written = []
    for path in (FIXTURES / "planted").rglob("*"):
        if path.is_file() and path.name != "EXPECTED":
            rel = path.relative_to(FIXTURES / "planted").as_posix()
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, repo / rel)
            written.append(rel)
    return sorted(written)


def test_a_clean_canon_passes(repo: Path) -> None:
    status, out, err = structure(repo)
    assert status == 0, [*out, err]
    assert out[0] == "canon-gate structure: config from the working tree's .github/canon-gate.yml"
    assert out[-1] == "no problems in 33 canon document(s) checked"


def test_what_changed_against_a_base_is_checked_under_the_bases_config(repo: Path) -> None:
    git(repo, "checkout", "-qb", "feature")
    plant(repo)
    # The working tree's config would allow the typo; the base's governs, as in CI.
    config = repo / ".github/canon-gate.yml"
    config.write_text(config.read_text().replace("[accepted]", "[accepted, porposed]"))
    status, out, _ = structure(repo, "--base", "main")
    assert status == 1
    assert out[0] == "canon-gate structure: config from main:.github/canon-gate.yml"
    assert problems(out) == EXPECTED
    assert out[-1] == "7 problem(s) in 7 of 7 canon document(s) checked"


def test_the_given_paths_only_and_json(repo: Path) -> None:
    plant(repo)
    given = ["canon/decisions/D0031-relay-retries.md", "GLOSSARY.md", "canon/principles"]
    status, out, _ = structure(repo, *given)
    assert status == 1
    assert problems(out) == {
        "canon/decisions/D0031-relay-retries.md:5:unknown-status".replace(":unknown", ": unknown")
    }
    status, out, _ = structure(repo, "--json", *given)
    data = json.loads("\n".join(out))
    assert data["config"] == "the working tree's .github/canon-gate.yml"
    assert "canon/principles/overview.md" in data["checked"]
    assert "GLOSSARY.md" not in data["checked"]
    assert [(p["path"], p["line"], p["rule"]) for p in data["problems"]] == [
        ("canon/decisions/D0031-relay-retries.md", 5, "unknown-status")
    ]


def test_statuses_are_learned_from_head_without_a_base(repo: Path) -> None:
    doc = repo / "canon/methods/journal-rows.md"
    doc.write_bytes(doc.read_bytes().replace(b"status: proposed", b"status: propsed"))
    status, out, _ = structure(repo)
    assert status == 1
    assert problems(out) == {"canon/methods/journal-rows.md:5: unknown-status"}


@pytest.mark.parametrize(
    ("args", "setup", "start"),
    [
        (["--base", "no-such-ref"], None, "canon-gate structure: unknown ref 'no-such-ref'"),
        (["nowhere.md"], None, "canon-gate structure: no such file or folder: nowhere.md"),
        ([], "canon:\n  paths: [nothing-here]\n", "canon-gate structure: the canon is empty"),
        ([], "canon: [oops\n", "canon-gate structure: the config is invalid:"),
    ],
)
def test_usage_errors_exit_2(repo: Path, args: list[str], setup: str | None, start: str) -> None:
    if setup is not None:
        (repo / ".github/canon-gate.yml").write_text(setup)
    status, out, err = structure(repo, *args)
    assert status == 2, out
    assert err.startswith(start)


def test_the_pre_commit_hook_runs_as_pre_commit_would(repo: Path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "canon-gate-structure"
    assert hook["language"] == "python"
    assert hook["types"] == ["markdown"]
    staged = [p for p in plant(repo) if p.endswith(".md")]
    git(repo, "add", "-A")
    argv = shlex.split(hook["entry"])
    assert argv[0] == "canon-gate"
    done = subprocess.run(
        [str(SCRIPT), *argv[1:], *staged], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert problems(done.stdout.splitlines()) == EXPECTED
    # Once fixed, the commit goes through.
    git(repo, "checkout", "-q", "HEAD", "--", ".")
    git(repo, "reset", "-q", "--hard")
    done = subprocess.run(
        [str(SCRIPT), *argv[1:], "canon/values/axioms.md"], cwd=repo, capture_output=True
    )
    assert done.returncode == 0
