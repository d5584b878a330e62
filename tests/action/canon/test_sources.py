"""Canon from other repositories: fetched read-only from a local bare repository in these tests,
searchable and resolvable, recorded by commit in the report and the governance key, and never a
silent pass when a source cannot be fetched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic, ToolCall, Turn, structured

from action.canon.checkout import Checkout
from action.canon.model import load_canon
from action.canon.sources import MANIFEST, fetch_all, fetched_for, git_env, load_sources, main
from action.canon.structure import check_change
from action.config import CanonSource, load_config
from action.governance import governance_key, governs_from_git
from action.report import ErrorKind
from tests.action.support import audit, tool_results, write_tree

pytestmark = pytest.mark.cli

UPSTREAM = """\
---
uri: klappy://canon/constraints/audit-gates-are-spawned-agent-sessions
title: Audit Gates Are Spawned Agent Sessions
status: active
---
The gate is a spawned agent session that fetches canon at runtime.
"""
OURS = """\
---
uri: ams://canon/constraints/relay-audits
title: Relay Audits
status: active
derives_from: "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions (the shape)"
---
Relay changes are audited by a spawned session.
"""
CITING = {
    "classification": "cosmetic",
    "kind": "other",
    "path": "src/relay.py",
    "start_line": 1,
    "claim": "The relay's audit follows the upstream constraint.",
    "evidence": [
        {
            "quote": "a spawned agent session that fetches canon at runtime",
            "source": "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions",
        }
    ],
    "canon": ["klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"],
}
CONFIG = """\
canon:
  sources:
    - prefix: "klappy://"
      repo: klappy/oddkit
      ref: {ref}
      path: canon
limits:
  max_turns: 8
  wall_time_seconds: 20
"""


def git(repo: Path, *args: str) -> str:
    argv = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def upstream(tmp_path: Path) -> tuple[str, str]:
    """A bare repository `klappy/oddkit` under a local server folder; (server URL, its main)."""
    work = tmp_path / "upstream-work"
    write_tree(work, {"canon/constraints/audit-gates.md": UPSTREAM, "README.md": "Upstream.\n"})
    git(work.parent, "init", "-q", "-b", "main", str(work))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "canon")
    git(work, "tag", "-a", "v1", "-m", "first release")
    server = tmp_path / "server"
    (server / "klappy").mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--bare", str(work), str(server / "klappy/oddkit.git"))
    return f"file://{server}", git(work, "rev-parse", "HEAD")


def workspace(tmp_path: Path, ref: str = "main") -> tuple[Path, Path]:
    base = tmp_path / "ws"
    files = {"canon/relay-audits.md": OURS, ".github/canon-gate.yml": CONFIG.format(ref=ref)}
    write_tree(base, files)
    head = base / ".canon-gate/head"
    write_tree(head, {**files, "src/relay.py": "def relay(m):\n    return m\n"})
    git(base, "init", "-q", "-b", "main")
    git(base, "add", "canon", ".github")
    git(base, "commit", "-qm", "base")
    return base, head


def sources_of(base: Path) -> list[CanonSource]:
    return load_config(base).canon.sources


@pytest.mark.parametrize("ref", ["main", "v1", "sha"])
def test_a_source_is_fetched_at_a_branch_a_tag_or_a_commit(tmp_path: Path, ref: str) -> None:
    server, commit = upstream(tmp_path)
    base, _ = workspace(tmp_path, commit if ref == "sha" else ref)
    [fetched] = fetch_all(base, sources_of(base), server, token=None)
    assert fetched.error is None
    assert fetched.commit == commit
    [(info, canon)] = load_sources(base, fetched_for(base, sources_of(base)))
    assert info.commit == commit
    assert [d.uri for d in canon.docs] == [
        "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"
    ]
    # Nothing is checked out: the canon is read from git's objects.
    assert not list((base / ".canon-gate/sources").rglob("*.md"))


def test_the_token_reaches_git_through_its_environment_only() -> None:
    env = git_env(Path("/tmp/x"), "https://github.com", "ghs_FAKEsourcestoken0123456789")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("AUTHORIZATION: basic ")
    assert "ghs_FAKEsourcestoken0123456789" not in json.dumps(env)  # base64, never plain
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_COUNT" not in git_env(Path("/tmp/x"), "https://github.com", None)


def test_links_into_a_source_resolve_there(tmp_path: Path) -> None:
    server, _ = upstream(tmp_path)
    base, head = workspace(tmp_path)
    fetch_all(base, sources_of(base), server, token=None)
    loaded = load_sources(base, fetched_for(base, sources_of(base)))
    broken = OURS.replace("audit-gates-are-spawned-agent-sessions", "audit-gates-are-spawned")
    write_tree(head, {"canon/relay-audits.md": broken})
    checkout = Checkout(base, skip=[base / ".canon-gate"])
    config = load_config(base)
    problems = check_change(
        checkout, Checkout(head), [("canon/relay-audits.md", "modified")], config, loaded
    )
    assert [(p.line, p.rule) for p in problems or []] == [(5, "dangling-link")]
    # Without the source configured, klappy:// is another knowledge base: never checked.
    assert not check_change(
        checkout, Checkout(head), [("canon/relay-audits.md", "modified")], config, ()
    )
    canon = load_canon(checkout, config.canon.paths, sources=loaded)
    doc = canon.get("klappy://canon/constraints/audit-gates-are-spawned-agent-sessions")
    assert doc is not None
    assert doc.origin == "klappy://"


async def test_the_session_reads_a_source_and_the_report_records_its_commit(
    tmp_path: Path,
) -> None:
    server, commit = upstream(tmp_path)
    base, head = workspace(tmp_path)
    assert main({"GITHUB_WORKSPACE": str(base), "GITHUB_SERVER_URL": server}) == 0
    uri = "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"
    script = [
        Turn(tool_calls=[ToolCall("mcp__canon_gate__canon_search", {"query": "spawned session"})]),
        Turn(tool_calls=[ToolCall("mcp__canon_gate__canon_get", {"ref": uri})]),
        structured({"findings": [CITING]}),
    ]
    async with FakeAnthropic(script) as fake:
        report = await audit((base, head), fake)
    assert report.error is None, report.error
    [source] = report.run.canon_sources
    assert (source.prefix, source.repo, source.ref, source.commit) == (
        "klappy://",
        "klappy/oddkit",
        "main",
        commit,
    )
    # Evidence from a source is verified in its text, at the source's commit.
    [finding] = report.findings
    [quote] = finding.evidence
    assert (quote.verified, quote.commit, quote.line) == (True, commit, 6)
    assert finding.canon == [uri]
    texts = [json.dumps(r.get("content")) for r in tool_results(fake)]
    assert uri in texts[0]
    assert f"source: klappy/oddkit at {commit}" in texts[1]
    assert "fetches canon at runtime" in texts[1]


def test_a_sources_commit_is_part_of_the_governance_key(tmp_path: Path) -> None:
    base, _ = workspace(tmp_path)
    head = git(base, "rev-parse", "HEAD")

    def key(*sources: tuple[str, str]) -> str:
        return governance_key(governs_from_git(base, head, ["canon"], sources=sources))

    assert key(("klappy://", "a" * 40)) != key(("klappy://", "b" * 40))
    assert key(("klappy://", "a" * 40)) != key()


@pytest.mark.parametrize("fetched", [True, False])
async def test_a_source_that_cannot_be_fetched_is_not_evaluated(
    tmp_path: Path, fetched: bool
) -> None:
    server, _ = upstream(tmp_path)
    base, head = workspace(tmp_path, ref="no-such-branch")
    if fetched:
        assert main({"GITHUB_WORKSPACE": str(base), "GITHUB_SERVER_URL": server}) == 0
        manifest = json.loads((base / MANIFEST).read_text())
        assert manifest["sources"][0]["error"].startswith("git could not fetch `no-such-branch`")
    async with FakeAnthropic([structured({"findings": []})]) as fake:
        report = await audit((base, head), fake)
    assert fake.message_requests == []
    assert report.status == "not_evaluated"
    assert report.error_kind is ErrorKind.CONFIG
    assert report.error is not None
    assert report.error.startswith(
        "the canon source `klappy://` (klappy/oddkit at `no-such-branch`)"
    )
    assert "CANON_GATE_SOURCES_TOKEN" in report.error
    assert report.run.canon_sources[0].commit is None
