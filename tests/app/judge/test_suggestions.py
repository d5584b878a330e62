"""Suggested fixes, decided: which findings, on which lines, in what words, what to withdraw."""

from __future__ import annotations

import re
from typing import Any

from appkit import finding

from action.audit.redact import MASK, Redactor
from action.markdown import ZWJ
from action.report import (
    Classification,
    Location,
    Report,
    RunInfo,
    SuggestedFix,
    Verification,
    Vote,
)
from app.judge import suggestions
from app.judge.comment import ExistingComment
from app.judge.suggestions import (
    MAX_COMMENTS,
    comment_body,
    in_diff,
    marker,
    plan,
    posted,
    right_lines,
    worth_asking,
)

HEAD = "c" * 40
# docs/guide.md: line 3 changed (lines 1-6 shown), and lines 30-32 added (27-35 shown).
PATCHES = {
    "docs/guide.md": "@@ -1,6 +1,6 @@\n a\n b\n-c\n+C\n d\n e\n f\n"
    "@@ -26,6 +27,9 @@\n x\n x\n x\n+y\n+y\n+y\n x\n x\n x",
}


def fix(
    line: int,
    end: int | None = None,
    *,
    replacement: str | None = "new text\n",
    path: str = "docs/guide.md",
    **kw: Any,
) -> Any:
    f = finding(anchor=f"anchor {path} {line} {end}", path=path, line=line, **kw)
    return f.model_copy(
        update={
            "location": Location(path=path, start_line=line, end_line=end or line),
            "suggested_fix": SuggestedFix(description="Say it plainly.", replacement=replacement),
        }
    )


def audited(*findings: Any, gate: str = "canon-gate") -> Report:
    return Report(run=RunInfo(gate=gate), findings=list(findings))


def bot(comment_id: int, body: str, login: str = "canon-gate[bot]") -> ExistingComment:
    return ExistingComment(comment_id, login, body)


def test_right_lines_reads_each_hunks_new_side() -> None:
    assert right_lines(PATCHES["docs/guide.md"]) == (range(1, 7), range(27, 36))
    # A count left out is one line; a hunk that only removes has no new side.
    assert right_lines("@@ -0,0 +1 @@\n+only") == (range(1, 2),)
    assert right_lines("@@ -4,2 +3,0 @@\n-x\n-y") == ()
    assert right_lines("Binary files differ") == ()


def test_a_location_must_lie_in_one_hunk_of_a_patched_file() -> None:
    def loc(start: int, end: int, path: str = "docs/guide.md") -> Location:
        return Location(path=path, start_line=start, end_line=end)

    assert in_diff(loc(3, 3), PATCHES)
    assert in_diff(loc(1, 6), PATCHES)
    assert in_diff(loc(30, 35), PATCHES)
    assert not in_diff(loc(7, 7), PATCHES)  # between the hunks
    assert not in_diff(loc(5, 28), PATCHES)  # spans two hunks: GitHub refuses it
    assert not in_diff(loc(35, 36), PATCHES)  # runs past the hunk
    assert not in_diff(loc(1, 1, "assets/logo.png"), PATCHES)  # no patch (binary)


def test_only_a_marker_that_opens_the_apps_own_comment_counts() -> None:
    a, b = "cg-00000000a1", "cg-00000000b2"
    comments = [
        bot(1, marker(a, "canon-gate") + "\n\nfix"),
        bot(2, marker(b, "code-sync", resolved=True) + "\n\nResolved"),
        bot(3, marker(b, "canon-gate"), login="mallory"),  # pasted by someone else
        bot(4, "quoting\n" + marker(b, "canon-gate")),  # not at the start
        bot(5, "<!-- canon-gate:lifecycle -->"),
    ]
    assert posted(comments, "Canon-Gate") == [
        suggestions.Posted(1, a, "canon-gate", resolved=False),
        suggestions.Posted(2, b, "code-sync", resolved=True),
    ]


def test_the_plan_offers_each_fix_in_the_diff_once_in_one_review() -> None:
    single, multi, outside = fix(3), fix(30, 32), fix(15)
    cosmetic = fix(2, classification=Classification.COSMETIC)
    no_replacement = fix(4, replacement=None)
    empty = fix(5, replacement="")
    refuted = fix(6).model_copy(
        update={"verification": Verification(votes=[Vote(verdict="refute")])}
    )
    report = audited(cosmetic, multi, single, outside, no_replacement, empty, refuted)
    done = plan({"canon-gate": report}, head_sha=HEAD, patches=PATCHES, existing=[], app_slug="x")
    assert done.review is not None
    assert done.review.commit_id == HEAD
    api = done.review.to_api()
    assert api["event"] == "COMMENT"
    assert "suggests 3 fixes at `ccccccc`" in api["body"]
    # Substantive first, in file order; a multi-line fix names its first line too.
    assert [
        (c["path"], c.get("start_line"), c["line"], c["side"], c.get("start_side"))
        for c in api["comments"]
    ] == [
        ("docs/guide.md", None, 3, "RIGHT", None),
        ("docs/guide.md", 30, 32, "RIGHT", "RIGHT"),
        ("docs/guide.md", None, 2, "RIGHT", None),
    ]
    assert api["comments"][0]["body"].startswith(marker(single.id, "canon-gate"))
    assert (done.outside_diff, done.withdrawals) == (1, ())

    # Posted once: a second plan with the App's comments in place offers nothing.
    existing = [bot(10 + i, c["body"]) for i, c in enumerate(api["comments"])]
    again = plan(
        {"canon-gate": report},
        head_sha=HEAD,
        patches=PATCHES,
        existing=existing,
        app_slug="canon-gate",
    )
    assert (again.review, again.already, again.withdrawals) == (None, 3, ())
    # Only the App's own comments count: the same bodies from anyone else change nothing.
    forged = [bot(c.id, c.body, login="mallory") for c in existing]
    spoofed = plan(
        {"canon-gate": report},
        head_sha=HEAD,
        patches=PATCHES,
        existing=forged,
        app_slug="canon-gate",
    )
    assert spoofed.review is not None
    assert len(spoofed.review.comments) == 3


def test_a_finding_gone_from_its_gates_audit_has_its_comment_withdrawn() -> None:
    kept, gone, other_gate = fix(3), fix(30), fix(31)
    existing = [
        bot(1, comment_body(kept, "canon-gate") or ""),
        bot(2, comment_body(gone, "canon-gate") or ""),
        bot(3, comment_body(other_gate, "code-sync") or ""),  # a gate this run did not audit
        bot(4, marker("cg-00000000ff", "canon-gate", resolved=True)),  # withdrawn already
    ]
    done = plan(
        {"canon-gate": audited(kept)},
        head_sha=HEAD,
        patches=PATCHES,
        existing=existing,
        app_slug="canon-gate",
    )
    assert done.review is None
    [withdrawal] = done.withdrawals
    assert withdrawal.comment_id == 2
    assert withdrawal.body.startswith(marker(gone.id, "canon-gate", resolved=True))
    assert "Resolved" in withdrawal.body
    assert "suggestion" not in withdrawal.body.split("-->", 1)[1]
    # A withdrawn comment is not offered again, even when its finding returns.
    returned = plan(
        {"canon-gate": audited(gone)},
        head_sha=HEAD,
        patches=PATCHES,
        existing=[bot(2, withdrawal.body)],
        app_slug="canon-gate",
    )
    assert (returned.review, returned.already) == (None, 1)


def test_the_review_is_capped_and_a_fix_too_long_for_a_comment_is_not_cut() -> None:
    many = [fix(27 + i % 9, path=f"f{i}.md") for i in range(MAX_COMMENTS + 3)]
    patches = {f"f{i}.md": PATCHES["docs/guide.md"] for i in range(MAX_COMMENTS + 3)}
    huge = fix(3, replacement="x" * 70_000)
    done = plan(
        {"canon-gate": audited(*many, huge)},
        head_sha=HEAD,
        patches=patches | PATCHES,
        existing=[],
        app_slug="x",
    )
    assert done.review is not None
    assert len(done.review.comments) == MAX_COMMENTS
    assert (done.over_cap, done.too_long) == (3, 1)


def test_github_is_asked_only_when_there_is_a_fix_or_may_be_a_comment() -> None:
    with_fix, without = audited(fix(3)), audited(finding())
    assert worth_asking({"canon-gate": with_fix}, [])
    # Nothing to offer: ask only when an earlier fix's finding is gone, or the ledger is unknown.
    assert not worth_asking({"canon-gate": without}, [])
    assert not worth_asking({"canon-gate": without}, [audited(finding())])
    assert worth_asking({"canon-gate": without}, None)
    assert worth_asking({"canon-gate": without}, [with_fix])
    # Another gate's earlier fix is not this run's to withdraw.
    assert not worth_asking({"canon-gate": without}, [audited(fix(3), gate="code-sync")])


def test_hostile_text_stays_escaped_and_the_replacement_inside_its_block() -> None:
    replacement = "x = 1\n```\n@octocat <img src=x>\n````suggestion\n~~~\n"
    hostile = fix(3, replacement=replacement, claim="@everyone look <b>here</b> ```")
    hostile = hostile.model_copy(
        update={
            "suggested_fix": SuggestedFix(description="@admins ``` fix", replacement=replacement)
        }
    )
    body = comment_body(hostile, "canon-gate")
    assert body is not None
    before, content, after = split_block(body)
    assert content == replacement  # exactly what applying it commits
    assert "@everyone" not in before
    assert f"@{ZWJ}everyone" in before
    assert "@admins" not in before
    assert "<b>" not in before
    assert "```" not in before
    assert after.strip() == ""


def test_the_data_plane_redacts_a_replacement_like_all_report_text() -> None:
    secret = "sk-ant-oat01-" + "s" * 40
    leaky = fix(3, replacement=f"token = '{secret}'\n")
    report = Redactor([secret]).report(audited(leaky))
    [redacted] = report.findings
    assert redacted.suggested_fix is not None
    assert redacted.suggested_fix.replacement == f"token = '{MASK}'\n"


def split_block(body: str) -> tuple[str, str, str]:
    """Split a comment into the text before its suggestion block, the block's content, and the
    text after, reading the fences as CommonMark does."""
    lines = body.split("\n")
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"`{3,}suggestion", line))
    fence = len(lines[start]) - len("suggestion")
    close = re.compile(rf" {{0,3}}`{{{fence},}}\s*")
    end = next(i for i in range(start + 1, len(lines)) if close.fullmatch(lines[i]))
    return (
        "\n".join(lines[:start]),
        "\n".join(lines[start + 1 : end]) + "\n",
        "\n".join(lines[end + 1 :]),
    )
