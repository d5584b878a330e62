"""Rendering: escaping of hostile text, cuts that respect GitHub's limits, and the summary parts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from action.markdown import ZWJ, cell, cut, cut_bytes, fenced, inline, shorten
from action.render import Table, hints_section, session_figures, tables
from action.report import (
    AuthMode,
    Classification,
    Evidence,
    Finding,
    HintResult,
    Kind,
    Location,
    RunInfo,
    SuggestedFix,
    Usage,
    fingerprint,
)
from app.judge import render
from app.judge.annotations import MAX_MESSAGE_BYTES, annotation, annotation_message
from app.judge.lifecycle import FindingState
from app.judge.links import Links
from app.judge.shown import Shown
from app.ledger.waivers import Waiver

LINKS = Links(artifact_url="https://example.test/artifact")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def finding(claim: str = "Drifts from the canon.", **changes: object) -> Finding:
    base = Finding(
        id=fingerprint("docs/a.md", Kind.CONTRADICTION, ["canon://a"], "anchor"),
        classification=Classification.SUBSTANTIVE,
        kind=Kind.CONTRADICTION,
        location=Location(path="docs/a.md", start_line=4, end_line=6),
        claim=claim,
        evidence=[
            Evidence(quote="Must be X.\nAlways.", source="canon://a", line=9, commit="c" * 40),
            Evidence(quote="Never Y.", source="docs/b.md", line=2, verified=True),
        ],
        canon=["canon://a"],
        suggested_fix=SuggestedFix(description="Use X.", replacement="X = 1\n```\nescape"),
    )
    return base.model_copy(update=changes)


# Escaping.


def test_inline_escapes_tables_html_and_mentions() -> None:
    text = inline("a | b\nc <script>alert(1)</script> @octocat @org/team ![x](http://t) `code`")
    assert "\n" not in text
    assert not UNESCAPED_PIPE.search(text)
    assert "<" not in text
    assert ">" not in text
    assert "@octocat" not in text
    assert f"@{ZWJ}octocat" in text
    assert f"@{ZWJ}org/team" in text
    assert "![" not in text
    assert "\\`code\\`" in text


def test_inline_leaves_plain_emails_and_text_readable() -> None:
    assert inline("plain words") == "plain words"
    assert inline("a & b") == "a &amp; b"


def test_cell_cuts_claims_to_about_120_characters() -> None:
    value = cell("word " * 100)
    assert len(value) <= 121
    assert value.endswith("…")


@pytest.mark.parametrize("hostile", ["|", "\n|---|\n", "\\|", "a\\", "<!--", "`|`"])
def test_hostile_claims_cannot_break_the_findings_table(hostile: str) -> None:
    shown = [Shown(finding(claim=f"x {hostile} y"), FindingState.NEW)]
    [table] = render.findings_tables(shown, lifecycle=False)
    text = tables([table], 10_000, LINKS.pointer())
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) == 3
    for row in rows:
        assert len(UNESCAPED_PIPE.findall(row)) == 6
    assert "<!--" not in text


def test_fenced_text_cannot_close_its_fence() -> None:
    block = fenced("````\n# not a heading\n```", "text")
    first, *_, last = block.splitlines()
    assert first == "`````text"
    assert last == "`````"


def test_shorten_flattens_and_marks_the_cut() -> None:
    assert shorten("a\n b", 10) == "a b"
    assert shorten("x" * 20, 10) == "x" * 9 + "…"


# Cutting.


def test_cut_respects_the_limit_at_a_line_boundary() -> None:
    text = "\n".join(f"line {i}" for i in range(10_000))
    result = cut(text, 1_000, LINKS.pointer())
    assert len(result) <= 1_000
    assert result.endswith(LINKS.pointer())
    kept = result.removesuffix("\n" + LINKS.pointer())
    assert kept.splitlines()[-1].startswith("line ")
    assert text.startswith(kept)


def test_cut_closes_an_open_fence() -> None:
    text = "intro\n\n````text\n" + "code line\n" * 5_000 + "````\n"
    result = cut(text, 2_000, "tail")
    assert len(result) <= 2_000
    assert result.endswith("````\ntail")


def test_cut_leaves_short_text_alone() -> None:
    assert cut("short", 100, "tail") == "short"


def test_cut_bytes_counts_utf8_bytes() -> None:
    text = "é" * 100_000
    result = cut_bytes(text, 64_000, "tail")
    assert len(result.encode()) <= 64_000
    assert result.endswith("\ntail")
    assert cut_bytes("short", 10, "tail") == "short"


def test_pointer_names_the_best_link() -> None:
    assert Links(artifact_url="A", workflow_run_url="W").pointer().endswith("the artifact: A)")
    assert "workflow run: W" in Links(workflow_run_url="W").pointer()
    assert "canon-gate-report" in Links().pointer()
    assert render.Links().markdown() == ""


def test_page_starts_with_the_marker_and_caps_the_summary() -> None:
    summary = render.page(["x" * 100_000, "never seen"], LINKS)
    assert summary.startswith(render.SUMMARY_MARKER)
    assert len(summary) <= render.MAX_SUMMARY
    assert summary.endswith(LINKS.pointer())


# Annotations.


def test_annotation_message_has_claim_evidence_and_fix() -> None:
    message = annotation_message(Shown(finding(), FindingState.NEW), LINKS)
    claim_at = message.index("Drifts from the canon.")
    evidence_at = message.index("Evidence:")
    fix_at = message.index("Suggested fix: Use X.")
    assert claim_at < evidence_at < fix_at
    assert f"canon://a line 9 @ {'c' * 12} (unverified):" in message
    assert "docs/b.md line 2:" in message
    assert "docs/b.md line 2 (unverified)" not in message
    assert "    > Must be X.\n    > Always." in message
    # The replacement holds a triple backtick, so its fence is longer.
    assert "````\nX = 1\n```\nescape\n````" in message
    assert "/canon-gate waive" in message


def test_annotation_title_and_levels() -> None:
    f = finding(claim="c" * 1_000)
    new = annotation(Shown(f, FindingState.NEW), LINKS)
    assert new["title"].startswith("[substantive] contradiction: ccc")
    assert len(new["title"]) == 255
    assert new["annotation_level"] == "failure"
    assert (new["path"], new["start_line"], new["end_line"]) == ("docs/a.md", 4, 6)
    cosmetic = finding(classification=Classification.COSMETIC)
    level = annotation(Shown(cosmetic, FindingState.NEW), LINKS)["annotation_level"]
    assert level == "warning"
    waiver = Waiver(f.id, "known", "alice", datetime(2026, 1, 1, tzinfo=UTC), 1, "a" * 40)
    waived = annotation(Shown(f, FindingState.WAIVED, waiver), LINKS)
    assert waived["annotation_level"] == "notice"
    assert waived["message"].startswith("Waived by alice: known")


def test_annotation_message_is_cut_to_64_kb() -> None:
    f = finding(claim="🙂" * 100_000)
    message = annotation_message(Shown(f, FindingState.NEW), LINKS)
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    assert message.endswith(LINKS.pointer())


# Summary parts.


def test_session_figures() -> None:
    run = RunInfo(
        model="claude-sonnet",
        claude_code_version="2.1.0",
        turns=7,
        duration_ms=125_000,
        usage=Usage(
            input_tokens=1_234,
            output_tokens=567,
            cache_read_input_tokens=89,
            cache_creation_input_tokens=10,
        ),
        cost_usd=0.4321,
        auth_mode=AuthMode.SUBSCRIPTION,
        prompt_hash="ph123",
        canon_ref="main",
        canon_sha="d" * 40,
    )
    text = session_figures(run)
    for needed in (
        "claude-sonnet",
        "2.1.0",
        "| Turns | 7 |",
        "2m 5s",
        "in 1,234 · out 567 · cache read 89 · cache write 10",
        "$0.4321",
        "| Auth | subscription |",
        "ph123",
        f"main @ {'d' * 40}",
    ):
        assert needed in text
    api = session_figures(RunInfo(auth_mode=AuthMode.API_KEY))
    assert "| Auth | API key |" in api


def test_hints_section() -> None:
    hints = [
        HintResult(name="links", exit_code=1),
        HintResult(name="slow | @bob", exit_code=None, timed_out=True),
    ]
    text = hints_section(hints)
    assert "| links | 1 | no |" in text
    assert f"slow \\| @{ZWJ}bob | none | yes |" in text
    assert hints_section([]) == ""


def test_help_names_the_commands() -> None:
    assert "`/canon-gate waive <finding-id> <reason>`" in render.HELP
    assert "`/canon-gate unwaive <finding-id>`" in render.HELP
    assert "`/canon-gate rerun`" in render.HELP
    assert "`/canon-gate approve <head-sha>`" in render.HELP
    assert "other than the pull request's author" in render.HELP


def test_the_waived_table_lists_each_waiver_in_force_with_its_expiry() -> None:
    f, g = finding(), finding(id="cg-00000000c2")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    lasting = Waiver(f.id, "known", "alice", at, 1, "a" * 40)
    expiring = Waiver(g.id, "until v2", "bob", at, 1, "a" * 40, at + timedelta(days=30))
    shown = [Shown(f, FindingState.WAIVED, lasting), Shown(g, FindingState.WAIVED, expiring)]
    [table] = [t for t in render.findings_tables(shown, lifecycle=True) if t.heading == "Waived"]
    assert table.columns[-3:] == ("Reason", "Waived by", "Expires")
    assert [row[-3:] for row in table.rows] == [
        ["known", "alice", "never"],
        ["until v2", "bob", "2026-01-31"],
    ]


def test_tables_drop_rows_beyond_the_budget() -> None:
    rows = [["x" * 100] for _ in range(1_000)]
    text = tables([Table("Many", ("Col",), rows)], 5_000, LINKS.pointer())
    assert len(text) <= 5_000
    assert "more rows not shown" in text
    assert LINKS.pointer() in text


def test_empty_lifecycle_sections_say_none() -> None:
    parts = render.findings_tables([], lifecycle=True)
    assert [t.heading for t in parts] == ["New", "Persisting", "Waived", "Resolved"]
    text = tables(parts, 10_000, LINKS.pointer())
    assert text.count("None.") == 4
