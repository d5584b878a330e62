"""The governance key: what governs a verdict, hashed the same way by both planes."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fakes.github import FakeGitHub
from fakes.github.state import Repo
from gidgethub.aiohttp import GitHubAPI

from action.config import CONFIG_PATH
from action.governance import Governs, canon_roots, governance_key, governs_from_git
from app.edge.governs import GovernsCache, read_at_base
from app.events import Repository


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def test_canon_roots_cover_globs_and_normalise_paths() -> None:
    assert canon_roots(["canon", "./canon/", "/canon"]) == ("canon",)
    assert canon_roots(["docs/adr/*.md", "docs/**/x.md"]) == ("docs", "docs/adr")
    assert canon_roots([".", "*.md"]) == ("",)


def test_the_key_changes_only_with_what_governs(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    first = commit(tmp_path, {"canon/a.md": "A\n", "src/x.py": "x = 1\n"}, "one")
    unrelated = commit(tmp_path, {"src/x.py": "x = 2\n"}, "code moves on")
    canon_edit = commit(tmp_path, {"canon/a.md": "A, amended\n"}, "canon changes")
    config_edit = commit(tmp_path, {CONFIG_PATH: "ledger: false\n"}, "config appears")

    def key(sha: str, gate: str = "canon-gate") -> str:
        return governance_key(governs_from_git(tmp_path, sha, ["canon"], gate=gate))

    assert key(first) == key(unrelated)  # main moved, nothing that governs did
    assert key(unrelated) != key(canon_edit)
    assert key(canon_edit) != key(config_edit)
    assert key(first) != key(first, gate="code-sync")
    assert key(first).startswith("gk1-")


def test_missing_parts_are_part_of_the_key(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    sha = commit(tmp_path, {"README.md": "hi\n"}, "no canon, no config")
    governs = governs_from_git(tmp_path, sha, ["canon"])
    assert governs == Governs(config=None, canon=(("canon", None),))
    with_source = Governs(config=None, canon=(("canon", None),), sources=(("kb", "c" * 40),))
    assert governance_key(governs) != governance_key(with_source)


# Canon sources: the App resolves each `ref` as the runner fetched it, and fails closed when it
# cannot.

SOURCED = """\
canon:
  sources:
    - prefix: "klappy://"
      repo: klappy/oddkit
      ref: {ref}
      path: canon
"""
SOURCE_DOC = "---\nuri: klappy://canon/a\ntitle: A\nstatus: active\n---\nA.\n"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def sourced(fake: FakeGitHub, ref: str, *, public: bool = True) -> tuple[Repo, Repo]:
    """The client repository, whose config names a source, and that source (another org)."""
    source = fake.add_repo(
        "klappy/oddkit", repo_id=8802, installation_id=8801, files={"canon/a.md": SOURCE_DOC}
    )
    source.private = not public
    source.refs["refs/tags/v1"] = source.head("main") or ""
    client = fake.add_repo(
        "octo-org/handbook",
        repo_id=9001,
        installation_id=7001,
        files={CONFIG_PATH: SOURCED.format(ref=ref(source) if callable(ref) else ref)},
    )
    return client, source


async def at_base(fake: FakeGitHub, session: aiohttp.ClientSession, client: Repo, **kw: Any) -> Any:
    token = fake.installation_token(7001, repository_ids=[client.id])
    gh = GitHubAPI(session, "tests", oauth_token=token, base_url=fake.base_url)
    repo = Repository(id=client.id, full_name=client.full_name)
    return await read_at_base(gh, repo, client.head("main") or "", **kw)


@pytest.mark.parametrize("ref", ["main", "v1"])
async def test_the_app_resolves_a_moving_ref_as_the_runner_fetched_it(
    fake_github: FakeGitHub, session: aiohttp.ClientSession, ref: str
) -> None:
    client, source = sourced(fake_github, ref)
    cache = GovernsCache()
    first = await at_base(fake_github, session, client, cache=cache)
    fetched = source.head("main")
    assert first.governs.sources == (("klappy://", fetched),)
    assert first.unresolved == ()
    # The runner's key: the same base, and the commit it fetched.
    runner = replace(first.governs, sources=(("klappy://", fetched),))
    assert first.key == governance_key(runner)
    if ref == "main":
        # The source moves on: what governs the same base commit changes, cache or not.
        moved = source.commit("main", {"canon/b.md": SOURCE_DOC.replace("/a", "/b")})
        again = await at_base(fake_github, session, client, cache=cache)
        assert again.governs.sources == (("klappy://", moved),)
        assert again.key != first.key


async def test_a_pinned_ref_needs_no_call(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    client, source = sourced(fake_github, lambda s: s.head("main"))
    found = await at_base(fake_github, session, client)
    assert found.governs.sources == (("klappy://", source.head("main")),)
    assert fake_github.calls_to("GET", "/repos/{owner}/{repo}/commits/{ref}") == []


@pytest.mark.parametrize("case", ["private", "no-such-ref"])
async def test_a_ref_the_app_cannot_resolve_fails_closed_and_says_to_pin_it(
    fake_github: FakeGitHub, session: aiohttp.ClientSession, case: str
) -> None:
    ref = "main" if case == "private" else "no-such-ref"
    client, source = sourced(fake_github, ref, public=case != "private")
    found = await at_base(fake_github, session, client)
    [why] = found.unresolved
    assert why.startswith("the canon source `klappy://` (klappy/oddkit) names `ref: ")
    assert why.endswith("pin `ref` to a full commit SHA in `canon.sources`")
    # No runner records this: whatever it fetched, its key differs.
    for commit in (source.head("main") or "", "f" * 40):
        assert found.key != governance_key(replace(found.governs, sources=(("klappy://", commit),)))


async def test_an_unresolved_source_is_said_in_the_verdict(
    fake_github: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    """The key can never match, so the audit is not judged; the summary says why, and to pin."""
    from app.flows.governance import read_governance
    from app.judge import outcomes

    client, _ = sourced(fake_github, "no-such-ref")
    token = fake_github.installation_token(7001, repository_ids=[client.id])
    gh = GitHubAPI(session, "tests", oauth_token=token, base_url=fake_github.base_url)
    repo = Repository(id=client.id, full_name=client.full_name)
    governance = await read_governance(gh, repo, None, client.head("main") or "", seal=None)  # type: ignore[arg-type]
    [note] = governance.notes
    assert "pin `ref` to a full commit SHA" in note
    shown = outcomes.not_evaluated(
        "the report's governance key is not the App's", notes=governance.notes
    )
    assert "pin \\`ref\\` to a full commit SHA in \\`canon.sources\\`" in shown.summary
