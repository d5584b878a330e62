"""The lifecycle summary comment: found again by its marker, never posted twice."""

from __future__ import annotations

from datetime import UTC, datetime

from appkit import finding

from action.report import Classification, Report
from app.judge.comment import MARKER, Create, ExistingComment, Update, choose, render
from app.judge.lifecycle import compare
from app.ledger.waivers import Waiver

F1, F2, F3, F4 = (f"cg-00000000b{i}" for i in range(1, 5))


def test_choose_updates_the_apps_own_marked_comment() -> None:
    comments = [
        ExistingComment.from_api(
            {"id": 5, "user": {"login": "alice"}, "body": f"quoting {MARKER}"}
        ),
        ExistingComment.from_api({"id": 9, "user": {"login": "canon-gate[bot]"}, "body": MARKER}),
        ExistingComment.from_api({"id": 7, "user": {"login": "canon-gate[bot]"}, "body": MARKER}),
        ExistingComment.from_api({"id": 3, "user": {"login": "canon-gate[bot]"}, "body": None}),
    ]
    assert choose(comments, "canon-gate") == Update(7)


def test_choose_creates_when_there_is_none() -> None:
    comments = [
        ExistingComment(1, "alice", f"{MARKER}"),
        ExistingComment(2, "canon-gate[bot]", "hi"),
    ]
    assert choose(comments, "canon-gate") == Create()
    assert choose([], "canon-gate") == Create()


def test_render_groups_findings_and_carries_the_marker() -> None:
    previous = Report(findings=[finding(id=F1), finding(id=F2), finding(id=F4)])
    current = Report(
        findings=[
            finding(id=F3, classification=Classification.COSMETIC),
            finding(id=F1),
            finding(id=F2),
        ]
    )
    waiver = Waiver(F2, "tracked", "alice", datetime(2026, 5, 1, tzinfo=UTC), 12, "a" * 40)
    body = render(
        compare(previous, current, {F2: waiver}),
        conclusion="success",
        head_sha="abcdef0123",
        waivers={F2: waiver},
        details_url="https://example.test/run",
    )
    assert body.startswith(MARKER + "\n\n**canon-gate: success** at `abcdef0`")
    assert (
        body.index("### New (1)") < body.index("### Persisting (1)") < body.index("### Waived (1)")
    )
    assert body.index("### Waived (1)") < body.index("### Resolved (1)")
    # The waiver's author is named without pinging them (a zero-width joiner after the @).
    assert "(waived by @\u200dalice: tracked)" in body


def test_render_without_findings() -> None:
    body = render(compare(None, Report(), {}), conclusion="success", head_sha="a" * 40, waivers={})
    assert "No findings." in body
