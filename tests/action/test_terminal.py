"""The terminal's rendering of reports (issue 15, item 2), without a session: the vote, the
structure problems once, the out-of-scope line, hostile text, and the progress lines."""

from __future__ import annotations

import io

from appkit import finding, report

from action.report import (
    STRUCTURE,
    RunInfo,
    StructureProblem,
    Verification,
    VerificationRun,
    Vote,
)
from action.report import Report as ReportModel
from action.terminal import MAX_TEXT, TerminalProgress, render

PROBLEM = StructureProblem(path="canon/a.md", line=3, rule="required-field", message="No title.")


def structure(*problems: StructureProblem) -> ReportModel:
    return ReportModel(run=RunInfo(gate=STRUCTURE), structure=list(problems))


def test_the_vote_is_shown_with_each_verifiers_reason() -> None:
    voted = finding().model_copy(
        update={
            "verification": Verification(
                votes=[
                    Vote(verdict="refute", reason="The guide calls it a hint."),
                    Vote(verdict="refute", reason="Line 3 is a quote."),
                    Vote(verdict="confirm", failed=True),
                ]
            )
        }
    )
    audited = report(voted, turns=4, cost_usd=0.25, duration_ms=61_000).model_copy(
        update={"verification": VerificationRun(votes=3, verified=1, sessions=3, turns=9)}
    )
    text = render([structure(), audited], 100, 0)
    assert "canon-gate: passed: 0 blocking findings of 1" in text
    assert "refuted by the vote" in text
    assert "vote: 2 of 3 refute" in text
    assert "refute: The guide calls it a hint." in text
    assert "confirm (the verifier failed): no reason given" in text
    assert "session: 4 turns · 1m 1s · $0.2500 (API-equivalent)" in text
    assert "vote: 3 votes on 1 finding · 3 sessions · 9 turns" in text
    assert text.endswith("Result: passed; exit status 0")


def test_structure_problems_show_once_under_the_structural_check() -> None:
    gate = report().model_copy(update={"structure": [PROBLEM]})
    text = render([structure(PROBLEM), gate], 80, 1)
    assert text.count("canon/a.md:3  required-field: No title.") == 1
    assert text.startswith("canon-gate/structure: failed: 1 structure problem\n")
    # A report alone (no structural check's) shows its own.
    assert "canon/a.md:3  required-field" in render([gate], 80, 0)


def test_a_gate_out_of_scope_says_no_session_started() -> None:
    idle = report().model_copy(update={"out_of_scope": True})
    text = render([structure(), idle], 60, 0)
    assert all(len(line) <= 60 for line in text.splitlines()), text
    text = " ".join(text.split())
    assert "canon-gate: not in scope: the change touches none of this gate's paths" in text
    assert text.endswith("no session started and nothing was spent; exit status 0")


def test_hostile_text_cannot_drive_the_terminal_and_runaway_text_is_cut() -> None:
    claim = "Clear the screen\x1b[2J, hide \u202eevil text, ring \x07the bell. " + "x" * 3000
    text = render([report(finding(claim=claim))], 80, 1)
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\x07" not in text
    assert "Clear the screen[2J, hide evil text, ring the bell." in text
    assert "more characters: --format json)" in text
    assert len(text) < MAX_TEXT + 2000


def test_progress_rewrites_the_turn_line_in_place() -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream)
    progress.canon_loaded("code-sync", 12)
    progress.in_scope("code-sync", 0)
    progress.session_started("code-sync", 40, 900)
    progress.turn("code-sync", 1)
    progress.turn("code-sync", 2)
    progress.done(report(gate="code-sync", turns=2, duration_ms=5000, cost_usd=0.01))
    assert stream.getvalue() == (
        "canon-gate/code-sync: canon loaded (12 documents)\n"
        "canon-gate/code-sync: no changed file in scope: no session\n"
        "canon-gate/code-sync: session started (up to 40 turns or 15m 0s)\n"
        "canon-gate/code-sync: turn 1"
        "\r\x1b[Kcanon-gate/code-sync: turn 2"
        "\r\x1b[Kcanon-gate/code-sync: done: passed (5s, $0.0100)\n"
    )
