"""Suggested fixes through the front door: one review of one-click suggestions per audit run, on
the lines of the PR's diff only, never posted twice, withdrawn when the finding resolves, and
never in the way of the verdict.
"""

from __future__ import annotations

from typing import Any

import pytest
from appkit import Gate, artifact, finding, report_for

from action.report import Classification, Location, SuggestedFix, artifact_name
from app.judge.suggestions import marker
from tests.app.flows.test_gates import JOBS_OK, configure, opened
from tests.app.flows.test_governance import audit
from tests.app.judge.test_suggestions import split_block

GUIDE = "".join(f"line {n}\n" for n in range(1, 21))
# The PR changes line 3: its diff shows lines 1-6, and nothing of lines 7-20.
CHANGED = GUIDE.replace("line 3\n", "line three\n")
REVIEWS = "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"
COMMENTS = "/repos/{owner}/{repo}/pulls/{pull_number}/comments"
EDIT = "/repos/{owner}/{repo}/pulls/comments/{comment_id}"
FILES = "/repos/{owner}/{repo}/pulls/{pull_number}/files"


def fix(start: int, end: int | None = None, replacement: str = "line 3\n", **kw: Any) -> Any:
    """A finding on `docs/guide.md` lines start..end whose fix replaces them."""
    path = kw.pop("path", "docs/guide.md")
    description = kw.pop("description", "Keep the canon's wording.")
    f = finding(anchor=f"anchor {path} {start}", path=path, line=start, **kw)
    return f.model_copy(
        update={
            "location": Location(path=path, start_line=start, end_line=end or start),
            "suggested_fix": SuggestedFix(description=description, replacement=replacement),
        }
    )


def open_pr(gate: Gate, number: int, config: str | None = None, **files: str) -> Any:
    base = {"docs/guide.md": GUIDE}
    if config is not None:
        base[".github/canon-gate.yml"] = config
    gate.repo.commit("main", base, "the guide")
    return gate.repo.open_pull(number, {"docs/guide.md": CHANGED, **files})


def comments_on(gate: Gate, number: int) -> list[Any]:
    return sorted(
        (c for c in gate.repo.review_comments.values() if c.pull_number == number),
        key=lambda c: c.id,
    )


def calls(gate: Gate, method: str, route: str) -> int:
    return len(gate.fake.calls_to(method, route))


async def test_fixes_in_the_diff_become_one_review_of_suggestions(gate: Gate) -> None:
    pull = open_pr(gate, 60)
    single = fix(3)
    multi = fix(4, 5, "line four\nline five\n", classification=Classification.COSMETIC)
    outside = fix(15, replacement="line fifteen\n")
    check = await audit(gate, pull, [multi, outside, single, finding(path="docs/guide.md")])
    # The verdict, annotations and all, is the check run's as ever.
    assert check.conclusion == "failure"
    assert {a["start_line"] for a in check.annotations} >= {3, 4, 15}
    [review] = gate.repo.reviews.values()
    assert (review.state, review.commit_id, review.user) == (
        "COMMENTED",
        pull.head_sha,
        "canon-gate[bot]",
    )
    assert "suggests 2 fixes" in review.body
    first, second = comments_on(gate, 60)
    assert (first.path, first.start_line, first.line, first.side) == (
        "docs/guide.md",
        None,
        3,
        "RIGHT",
    )
    assert (second.start_line, second.line, second.side) == (4, 5, "RIGHT")
    assert first.body.startswith(marker(single.id, "canon-gate"))
    assert split_block(first.body)[1] == "line 3\n"
    assert split_block(second.body)[1] == "line four\nline five\n"
    # The fix outside the diff keeps its annotation only.
    assert all(outside.id not in c.body for c in comments_on(gate, 60))
    # The installation token for this step may do nothing else.
    [post] = gate.fake.calls_to("POST", REVIEWS)
    assert post.permissions == {"pull_requests": "write"}


async def test_a_second_push_with_the_same_finding_posts_nothing_new(gate: Gate) -> None:
    pull = open_pr(gate, 61)
    same = fix(3)
    await audit(gate, pull, [same])
    [posted] = comments_on(gate, 61)
    gate.repo.push(pull, {"docs/other.md": "more\n"})
    await audit(gate, pull, [same])
    assert calls(gate, "POST", REVIEWS) == 1
    assert calls(gate, "PATCH", EDIT) == 0
    assert [c.id for c in comments_on(gate, 61)] == [posted.id]


async def test_a_resolved_findings_comment_is_edited_and_its_suggestion_withdrawn(
    gate: Gate,
) -> None:
    pull = open_pr(gate, 62)
    resolved, standing = fix(3), fix(5, replacement="line 5 fixed\n")
    await audit(gate, pull, [resolved, standing])
    first, second = comments_on(gate, 62)
    gate.repo.push(pull, {"docs/guide.md": CHANGED.replace("line three", "line 3")})
    await audit(gate, pull, [standing])
    [edit] = gate.fake.calls_to("PATCH", EDIT)
    assert edit.path.endswith(f"/pulls/comments/{first.id}")
    assert "Resolved" in first.body
    assert "suggestion" not in first.body.split("-->", 1)[1]
    assert split_block(second.body)[1] == "line 5 fixed\n"  # still standing: untouched
    assert calls(gate, "POST", REVIEWS) == 1
    # Edited once: the next audit finds it withdrawn already.
    gate.repo.push(pull, {"docs/other.md": "more\n"})
    await audit(gate, pull, [standing])
    assert calls(gate, "PATCH", EDIT) == 1


async def test_with_the_ledger_off_a_resolved_fix_is_still_withdrawn(gate: Gate) -> None:
    pull = open_pr(gate, 70, config="ledger: false\n")
    await audit(gate, pull, [fix(3)])
    [posted] = comments_on(gate, 70)
    gate.repo.push(pull, {"docs/other.md": "more\n"})
    # Nothing to offer, and no ledger to say what was offered before: the comments are read.
    await audit(gate, pull, [finding(path="docs/guide.md")])
    assert "Resolved" in posted.body
    assert calls(gate, "GET", FILES) == 1  # the second audit needed no diff


async def test_no_comment_outside_the_diff_nor_on_a_file_without_a_patch(gate: Gate) -> None:
    pull = open_pr(gate, 63, **{"assets/logo.png": "\0PNG\0"})
    outside = fix(15, replacement="line fifteen\n")
    binary = fix(1, replacement="png\n", path="assets/logo.png")
    check = await audit(gate, pull, [outside, binary])
    assert calls(gate, "GET", FILES) == 1  # asked, and found no line to suggest on
    [files] = [c for c in gate.fake.calls if c.route == FILES]
    assert files.query == {"per_page": "100"}
    assert calls(gate, "POST", REVIEWS) == 0
    assert not gate.repo.review_comments
    assert {a["path"] for a in check.annotations} == {"docs/guide.md", "assets/logo.png"}


async def test_hostile_replacement_text_stays_inside_its_block(gate: Gate) -> None:
    pull = open_pr(gate, 64)
    replacement = "line 3\n```\n@octocat please <img src=x>\n````suggestion\n"
    hostile = fix(
        3,
        replacement=replacement,
        claim="@everyone see ``` and <b>this</b>",
        description="@admins ```suggestion",
    )
    await audit(gate, pull, [hostile])
    [comment] = comments_on(gate, 64)
    before, content, after = split_block(comment.body)
    assert content == replacement
    assert "@everyone" not in before
    assert "@admins" not in before
    assert "<b>" not in before
    assert after.strip() == ""
    assert "@everyone" not in gate.repo.reviews[comment.review_id].body


async def test_suggestions_off_asks_github_nothing(gate: Gate) -> None:
    pull = open_pr(gate, 65, config="suggestions: false\n")
    check = await audit(gate, pull, [fix(3)])
    assert check.conclusion == "failure"
    for method, route in (("GET", FILES), ("GET", COMMENTS), ("POST", REVIEWS)):
        assert calls(gate, method, route) == 0


async def test_a_report_without_fixes_asks_github_nothing(gate: Gate) -> None:
    pull = open_pr(gate, 66)
    await audit(gate, pull, [finding(path="docs/guide.md")])
    # The ledger holds every earlier audit: none offered a fix, so no comment can need an edit.
    assert calls(gate, "GET", COMMENTS) == 0
    assert calls(gate, "GET", FILES) == 0


async def test_a_report_for_a_head_the_pr_has_moved_past_suggests_nothing(gate: Gate) -> None:
    pull = open_pr(gate, 67)
    payload = gate.fake.payloads.pull_request(gate.repo, pull, "opened")
    assert await gate.deliver("pull_request", payload) == 200
    [check] = gate.check_runs()
    [run] = gate.runs_for(check.id)
    gate.repo.push(pull, {"docs/other.md": "newer\n"})  # its own audit will follow
    done = gate.fake.complete_run(
        gate.repo, run.id, "success", artifact(report_for(run, findings=[fix(3)]))
    )
    assert await gate.deliver("workflow_run", done) == 200
    assert gate.repo.check_runs[check.id].conclusion == "failure"
    assert calls(gate, "GET", FILES) == 0


@pytest.mark.parametrize(
    ("failure", "error"), [("review_502", "GitHubBroken"), ("no_permission", "InvalidField")]
)
async def test_a_failure_to_suggest_leaves_the_verdict_concluded(
    gate: Gate, failure: str, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    if failure == "review_502":
        gate.fake.inject(f"POST {REVIEWS}", 502)
    else:
        # An installation whose owner has not accepted `pull_requests: write` yet.
        gate.fake.apps[gate.fake.app_id].permissions["pull_requests"] = "read"
    pull = open_pr(gate, 68)
    check = await audit(gate, pull, [fix(3)])  # the delivery is answered 200
    assert (check.status, check.conclusion) == ("completed", "failure")
    assert not gate.repo.review_comments
    [failed] = [r for r in caplog.records if r.getMessage() == "suggestions.failed"]
    assert failed.__dict__["error_type"] == error


async def test_several_gates_share_one_review(gate: Gate) -> None:
    configure(gate)
    _, run = await opened(gate, 69, {"docs/guide.md": "x\n", "src/app.py": "y\n"})
    code = fix(1, path="src/app.py", replacement="z\n", classification=Classification.COSMETIC)
    docs = fix(1, path="docs/guide.md", replacement="w\n", classification=Classification.COSMETIC)
    reports = {
        "structure": report_for(run, gate="structure").model_copy(update={"structure": []}),
        "code-sync": report_for(run, gate="code-sync", findings=[code]),
        "gauntlet": report_for(run, gate="gauntlet", findings=[docs]),
    }
    zips = {artifact_name(name): artifact(r) for name, r in reports.items()}
    done = gate.fake.complete_run(gate.repo, run.id, "success", artifacts=zips, jobs=JOBS_OK)
    assert await gate.deliver("workflow_run", done) == 200
    [review] = gate.repo.reviews.values()
    assert "`canon-gate/code-sync`" in review.body
    assert "`canon-gate/gauntlet`" in review.body
    bodies = sorted(c.body.split("\n", 1)[0] for c in comments_on(gate, 69))
    assert bodies == sorted([marker(code.id, "code-sync"), marker(docs.id, "gauntlet")])
