"""Pure parts of the data plane: canon, config, diff, evidence, redaction, guard, env, hints."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from action.audit.diff import changes
from action.audit.evidence import Sources, verify
from action.audit.hints import run_hint
from action.audit.redact import MASK, Redactor
from action.canon.checkout import Checkout
from action.canon.document import parse_document
from action.canon.index import CanonIndex
from action.canon.model import Canon, load_canon
from action.config import ConfigError, Hint, parse_config
from action.report import AuthMode, Evidence, Kind, fingerprint
from action.session.environment import build_session_env, write_wrapper
from action.session.guard import ReadGuard
from tests.action.support import GITHUB_TOKEN, OAUTH, RETIRED, make_checkouts

NEW = "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"
OLD = "klappy://canon/constraints/audit-gates-are-managed-agents"


def doc(uri: str, **links: str) -> str:
    lines = "".join(f"{k}: {v}\n" for k, v in links.items())
    return f"---\nuri: {uri}\ntitle: {uri}\nstatus: active\n{lines}---\nbody of {uri}\n"


def test_link_fields_list_or_comma_string() -> None:
    def targets(value: str) -> list[str]:
        return parse_document("x.md", f"---\nsupersedes: {value}\n---\n").targets("supersedes")

    assert targets('"a.md, b.md ,"') == ["a.md", "b.md"]
    assert targets('["x", " y "]') == ["x", "y"]
    assert targets("") == []
    parsed = parse_document("canon/old.md", RETIRED)
    assert parsed.uri == OLD
    assert parsed.status == "superseded"
    assert parsed.targets("superseded_by") == [NEW]
    assert parsed.meta["tier"] == 1


def test_supersession_resolves_and_reports(tmp_path: Path) -> None:
    base, _ = make_checkouts(tmp_path)
    canon = load_canon(Checkout(base), ["canon"])
    old = canon.get(OLD)
    assert old is not None
    assert canon.in_force(old).uri == NEW
    assert canon.get("canon/constraints/audit-gates-are-managed-agents.md") is old
    assert canon.chain_problems() == []
    broken = Canon(
        [
            parse_document("a.md", doc("u://a", superseded_by="u://b")),
            parse_document("b.md", doc("u://b", superseded_by="u://a")),
            parse_document("c.md", doc("u://c", supersedes="u://gone, canon/x.md")),
        ]
    )
    kinds = sorted(p.kind for p in broken.chain_problems())
    assert kinds == ["cyclic", "dangling", "dangling"]  # u://gone and canon/x.md


def test_unreadable_frontmatter_is_listed(tmp_path: Path) -> None:
    (tmp_path / "canon").mkdir()
    (tmp_path / "canon/bad.md").write_text("---\nuri: [unclosed\n---\n")
    checkout = Checkout(tmp_path)
    canon = load_canon(checkout, ["canon"])
    assert canon.docs == []
    assert [p.rule for p in checkout.read("canon/bad.md").problems] == ["yaml-invalid"]


def test_fts_search(tmp_path: Path) -> None:
    base, _ = make_checkouts(tmp_path)
    hits = CanonIndex(load_canon(Checkout(base), ["canon"])).search("pre-flight hints gate")
    assert hits[0][0].uri == NEW
    assert CanonIndex(Canon([])).search("!!!") == []


def test_config_error_names_key_and_line() -> None:
    with pytest.raises(ConfigError, match=r"line 4: `limits.max_turns`"):
        parse_config("canon:\n  paths: [canon]\nlimits:\n  max_turns: lots\n")


def test_diff_between_trees(tmp_path: Path) -> None:
    base, head = make_checkouts(tmp_path)
    found = changes(base, head)
    assert [(c.path, c.status) for c in found] == [("docs/ci.md", "modified")]
    assert changes(base, head, ["canon/**"]) == []


def test_evidence_verification(tmp_path: Path) -> None:
    base, head = make_checkouts(tmp_path)
    sources = Sources(load_canon(Checkout(base), ["canon"]), base, head, "b", "h")
    ok = verify(Evidence(quote="MUST  NOT serve\nas the gate", source=NEW), sources)
    assert ok.verified
    assert ok.commit == "b"
    diffy = verify(Evidence(quote="+The merge gate is", source="docs/ci.md"), sources)
    assert diffy.verified
    assert diffy.line == 2
    assert diffy.commit == "h"
    assert not verify(Evidence(quote="nope", source="docs/ci.md"), sources).verified
    assert not verify(Evidence(quote="x", source="../../etc/passwd"), sources).verified


def test_fingerprint_ignores_wording_and_lines() -> None:
    a = fingerprint("docs/ci.md", Kind.DRIFT, [NEW], "The gate is  a regex")
    assert a == fingerprint("docs/ci.md", Kind.DRIFT, [NEW, NEW], "the gate is a regex")
    assert a != fingerprint("docs/ci.md", Kind.CONTRADICTION, [NEW], "the gate is a regex")


def test_redaction() -> None:
    redactor = Redactor([OAUTH, "short"])
    text = f"a {OAUTH} b {GITHUB_TOKEN} c sk-ant-api03-abcdefghijkl AKIAABCDEFGHIJKLMNOP short"
    out = redactor.text(text)
    assert OAUTH not in out
    assert GITHUB_TOKEN not in out
    assert "sk-ant" not in out
    assert "AKIA" not in out
    assert out.count(MASK) == 4
    assert "short" in out


def test_guard_confines_reads(tmp_path: Path) -> None:
    base, head = make_checkouts(tmp_path)
    (head / "link").symlink_to("/etc/hostname")
    guard = ReadGuard([base, head], base, frozenset({"mcp__canon_gate__pr_diff"}))
    assert guard.decide("Read", {"file_path": "docs/ci.md"}) is None
    assert guard.decide("Read", {"file_path": str(head / "docs/ci.md")}) is None
    assert guard.decide("Grep", {"pattern": "x"}) is None
    assert guard.decide("mcp__canon_gate__pr_diff", {}) is None
    assert guard.decide("Read", {"file_path": "/proc/self/environ"})
    assert guard.decide("Read", {"file_path": "~/.ssh/id_rsa"})
    assert guard.decide("Read", {"file_path": "../../x"})
    assert guard.decide("Read", {"file_path": str(head / "link")})
    assert guard.decide("Read", {"file_path": ".git/config"})
    assert guard.decide("Glob", {"pattern": "/etc/*"})
    assert guard.decide("Bash", {"command": "id"})
    assert guard.decide("mcp__other__tool", {})


def test_wrapper_environment_is_exactly_the_session_env(tmp_path: Path) -> None:
    parent = {
        "PATH": os.environ["PATH"],
        "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
        "ANTHROPIC_API_KEY": "sk-ant-x",
        "GITHUB_TOKEN": GITHUB_TOKEN,
    }
    env = build_session_env(parent, tmp_path / "run", 60)
    assert "ANTHROPIC_API_KEY" not in env
    assert env["API_TIMEOUT_MS"] == "20000"
    wrapper = write_wrapper(tmp_path / "run", Path("/usr/bin/env"), list(env))
    merged = {**os.environ, **parent, **env}  # what the SDK would hand the wrapper
    out = subprocess.run([str(wrapper)], env=merged, capture_output=True, text=True, check=True)
    got = dict(line.split("=", 1) for line in out.stdout.splitlines())
    got.pop("PWD", None)  # one of the SDK protocol names the wrapper forwards when set
    assert got == env
    assert GITHUB_TOKEN not in out.stdout
    assert OAUTH not in wrapper.read_text()


def test_no_credentials(tmp_path: Path) -> None:
    from action.session.environment import NoCredentials, auth_mode

    assert auth_mode({}) is AuthMode.NONE
    with pytest.raises(NoCredentials):
        build_session_env({"PATH": "/bin"}, tmp_path, 60)


async def test_hint_runs_with_timeout(tmp_path: Path) -> None:
    ok = await run_hint(
        Hint(name="echo", run=["sh", "-c", 'echo head=$CANON_GATE_HEAD; echo "$GITHUB_TOKEN"']),
        tmp_path,
        tmp_path / "head",
        os.environ["PATH"],
    )
    assert ok.exit_code == 0
    assert "head=" in ok.output
    assert GITHUB_TOKEN not in ok.output
    slow = await run_hint(
        Hint(name="slow", run=["sleep", "30"], timeout_seconds=1),
        tmp_path,
        tmp_path,
        os.environ["PATH"],
    )
    assert slow.timed_out
    assert slow.exit_code is None
    missing = await run_hint(Hint(name="nope", run=["/no/such/tool"]), tmp_path, tmp_path, "")
    assert "could not start" in missing.output
