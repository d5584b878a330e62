"""Pure parts of an audit: the diff between trees, evidence, redaction, hints."""

from __future__ import annotations

import os
from pathlib import Path

from action.audit.diff import changes
from action.audit.evidence import Sources, verify
from action.audit.hints import run_hint
from action.audit.redact import MASK, Redactor
from action.canon.checkout import Checkout
from action.canon.model import load_canon
from action.config import Hint
from action.report import Evidence
from tests.action.support import GITHUB_TOKEN, OAUTH, make_checkouts

NEW = "klappy://canon/constraints/audit-gates-are-spawned-agent-sessions"


def test_diff_between_trees(tmp_path: Path) -> None:
    base, head = make_checkouts(tmp_path)
    found = changes(base, head, skip=[head])
    assert [(c.path, c.status) for c in found] == [("docs/ci.md", "modified")]
    assert changes(base, head, ["canon/**"], skip=[head]) == []


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
