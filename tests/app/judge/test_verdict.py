"""The verdict: every conclusion path, ordering, batching and GitHub's limits, without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from action.report import (
    ACTION_VERSION,
    Classification,
    Evidence,
    Finding,
    Kind,
    Location,
    Report,
    RunInfo,
    StructureProblem,
    SuggestedFix,
    fingerprint,
)
from app.events import CheckRun, Repository, WorkflowRun
from app.judge import outcomes, verdict
from app.judge.artifact import ArtifactProblem, UnsupportedSchema, parse_report
from app.judge.checkrun import RERUN, RERUN_BUTTON, CheckRunResult
from app.judge.conclude import Finished, Governance, conclude
from app.judge.lifecycle import Lifecycle, compare
from app.judge.links import Links
from app.judge.render import SUMMARY_MARKER
from app.judge.structure import structure_result
from app.ledger.waivers import Waiver

LINKS = Links(
    workflow_run_url="https://github.com/o/r/actions/runs/7",
    artifact_url="https://github.com/o/r/actions/runs/7#artifacts",
)
PR = 12


def make_finding(
    path: str = "docs/a.md",
    line: int = 3,
    *,
    substantive: bool = True,
    claim: str = "The change contradicts the canon.",
    anchor: str | None = None,
    kind: Kind = Kind.DRIFT,
) -> Finding:
    quote = anchor or f"{path}:{line}:{claim}"
    return Finding(
        id=fingerprint(path, kind, ["canon://x"], quote),
        classification=Classification.SUBSTANTIVE if substantive else Classification.COSMETIC,
        kind=kind,
        location=Location(path=path, start_line=line, end_line=line + 1),
        claim=claim,
        evidence=[Evidence(quote=quote, source="canon/x.md", line=4, verified=True)],
        canon=["canon://x"],
        suggested_fix=SuggestedFix(description="Say it the canon's way.", replacement="new text"),
    )


def make_report(*findings: Finding, **fields: object) -> Report:
    run = RunInfo(repo="o/r", pr=PR, head_sha="a" * 40, model="claude-x", turns=3)
    return Report.model_validate(
        {"run": run, "findings": list(findings), **fields}, from_attributes=False
    )


def waiver_for(finding: Finding, *, pr: int = PR, reason: str = "accepted risk") -> Waiver:
    return Waiver(
        finding_id=finding.id,
        reason=reason,
        user="maintainer",
        at=datetime(2026, 1, 1, tzinfo=UTC),
        pr=pr,
        head_sha="a" * 40,
    )


def assert_within_github_limits(result: CheckRunResult) -> None:
    """Check every payload against the limits GitHub enforces on check run updates."""
    payloads = result.payloads()
    assert payloads
    assert len(result.title) <= 255
    assert len(result.summary) <= 65_535
    assert result.text is None or len(result.text) <= 65_535
    last = payloads[-1]
    assert last["conclusion"] == result.conclusion
    actions = last["actions"]
    assert isinstance(actions, list)
    assert 1 <= len(actions) <= 3
    assert any(a["identifier"] == "rerun" for a in actions)
    for action in actions:
        assert set(action) == {"label", "description", "identifier"}
        assert 0 < len(action["label"]) <= 20
        assert 0 < len(action["description"]) <= 40
        assert 0 < len(action["identifier"]) <= 20
    total = 0
    for payload in payloads:
        output = payload["output"]
        assert isinstance(output, dict)
        assert output["title"] == result.title
        assert output["summary"] == result.summary
        annotations = output.get("annotations", [])
        assert len(annotations) <= 50
        total += len(annotations)
        for a in annotations:
            assert {"path", "start_line", "end_line", "annotation_level", "message"} <= set(a)
            assert a["annotation_level"] in {"notice", "warning", "failure"}
            assert a["start_line"] <= a["end_line"]
            assert len(a["title"]) <= 255
            assert len(a["message"].encode()) <= 64 * 1024
    for earlier in payloads[:-1]:
        assert set(earlier) == {"output"}
        assert earlier["output"]["annotations"]
    assert total == len(result.annotations)


# Evaluated reports.


def test_no_findings_is_success() -> None:
    result = verdict.decide(make_report(), links=LINKS)
    assert result.conclusion == "success"
    assert result.title == "Passed: no findings"
    assert result.annotations == ()
    assert result.blocking == ()
    assert result.summary.startswith(SUMMARY_MARKER)
    [payload] = result.payloads()
    assert "annotations" not in payload["output"]  # type: ignore[operator]
    assert_within_github_limits(result)


def test_cosmetic_only_is_success_with_warnings() -> None:
    result = verdict.decide(make_report(make_finding(substantive=False)), links=LINKS)
    assert result.conclusion == "success"
    assert "1 cosmetic finding" in result.title
    assert [a["annotation_level"] for a in result.annotations] == ["warning"]
    assert_within_github_limits(result)


def test_unwaived_substantive_is_failure() -> None:
    bad, fine = make_finding(), make_finding("b.md", substantive=False)
    result = verdict.decide(make_report(bad, fine), links=LINKS)
    assert result.conclusion == "failure"
    assert result.blocking == (bad.id,)
    assert result.title.startswith("1 substantive finding")
    assert [a["annotation_level"] for a in result.annotations] == ["failure", "warning"]
    assert_within_github_limits(result)


def test_all_waived_is_success_with_notices() -> None:
    one, two = make_finding("a.md"), make_finding("b.md")
    waivers = {f.id: waiver_for(f, reason=f"reason for {f.location.path}") for f in (one, two)}
    result = verdict.decide(make_report(one, two), waivers=waivers, links=LINKS)
    assert result.conclusion == "success"
    assert "2 waived" in result.title
    assert [a["annotation_level"] for a in result.annotations] == ["notice", "notice"]
    assert "Waived by maintainer: reason for a.md" in result.annotations[0]["message"]
    assert "reason for b.md" in result.summary
    assert_within_github_limits(result)


def test_partly_waived_still_fails() -> None:
    one, two = make_finding("a.md"), make_finding("b.md")
    result = verdict.decide(make_report(one, two), waivers={one.id: waiver_for(one)})
    assert result.conclusion == "failure"
    assert result.blocking == (two.id,)


def test_waiver_from_another_pr_does_not_apply() -> None:
    finding = make_finding()
    waivers = {finding.id: waiver_for(finding, pr=PR + 1)}
    result = verdict.decide(make_report(finding), waivers=waivers)
    assert result.conclusion == "failure"


def test_notes_reach_the_summary() -> None:
    result = verdict.decide(make_report(), notes=["the ledger record could not be written: 403"])
    assert "the ledger record could not be written: 403" in result.summary


# Not evaluated: never success.


def test_report_error_is_not_evaluated() -> None:
    report = make_report(error="authentication failed: invalid token\nmore detail")
    result = verdict.decide(report, links=LINKS)
    assert result.conclusion == "failure"
    assert result.title == "Not evaluated: authentication failed: invalid token"
    assert "more detail" in result.summary
    assert "Re-run" in result.summary
    assert LINKS.workflow_run_url in result.summary  # type: ignore[operator]
    assert_within_github_limits(result)


def test_report_error_wins_over_findings_and_waivers() -> None:
    finding = make_finding(substantive=False)
    report = make_report(finding, error="zero turns")
    result = verdict.decide(report, waivers={finding.id: waiver_for(finding)})
    assert result.conclusion == "failure"
    assert result.annotations == ()


def finished(report: Report | ArtifactProblem) -> Finished:
    """A finished audit as the completion handler hands it to `conclude`."""
    repo = Repository(id=1, full_name="o/r")
    run = WorkflowRun(id=7, head_sha="b" * 40, status="completed", conclusion="success")
    check = CheckRun(id=99, name="canon-gate", head_sha="a" * 40, status="in_progress")
    return Finished(repo, run, check, report)


@pytest.mark.parametrize("version", [0, 1, 4, 99])
def test_unknown_schema_version_names_the_action_version(version: int) -> None:
    raw = {**make_report(structure=[]).model_dump(mode="json"), "schema_version": version}
    with pytest.raises(UnsupportedSchema) as refused:
        parse_report(json.dumps(raw).encode())
    outcome = conclude(finished(refused.value), Governance(), LINKS)
    result = outcome.result
    assert result.conclusion == "action_required"
    assert ACTION_VERSION in result.title
    assert f"schema version {version}" in result.summary
    assert f"**{ACTION_VERSION}**" in result.summary
    assert_within_github_limits(result)
    assert outcome.structure is None
    assert outcome.record is None


def test_not_evaluated_is_failure_with_rerun() -> None:
    result = outcomes.not_evaluated("the artifact is missing", detail="404 Not Found", links=LINKS)
    assert result.conclusion == "failure"
    assert result.title == "Not evaluated: the artifact is missing"
    assert "404 Not Found" in result.summary
    assert "/canon-gate rerun" in result.summary
    assert_within_github_limits(result)


def test_not_evaluated_detail_cannot_escape_its_fence() -> None:
    hostile = "```\n<img src=x onerror=alert(1)> @octocat\n````\n# heading"
    result = outcomes.not_evaluated("dispatch failed", detail=hostile)
    body = result.summary.split("```", 1)[1]
    fence_open = "`" * 5
    assert result.summary.count(fence_open) == 2
    assert body.startswith("``text\n")


def test_setup_required_explains_the_install_exactly() -> None:
    result = outcomes.setup_required(
        "Not Found: workflow canon-gate.yml", workflow_missing=True, status=404, links=LINKS
    )
    assert result.conclusion == "action_required"
    summary = result.summary
    for needed in (
        "`canon-gate init`",
        "`.github/workflows/canon-gate.yml`",
        "`.github/canon-gate.yml`",
        "**default branch**",
        "`CLAUDE_CODE_OAUTH_TOKEN`",
        "`claude setup-token`",
        "Not Found: workflow canon-gate.yml",
        "404",
    ):
        assert needed in summary
    assert_within_github_limits(result)


def test_setup_required_for_a_refused_dispatch() -> None:
    result = outcomes.setup_required("Unexpected inputs", workflow_missing=False, status=422)
    assert result.conclusion == "action_required"
    assert "could not be started" in result.summary
    assert "Unexpected inputs" in result.summary


def test_simple_states() -> None:
    superseded = outcomes.superseded("b" * 40)
    assert superseded.conclusion == "cancelled"
    assert superseded.title == "Superseded by bbbbbbb"
    overdue = outcomes.overdue(timedelta(minutes=30), datetime(2026, 1, 1, tzinfo=UTC))
    assert overdue.conclusion == "timed_out"
    assert "30 minutes" in overdue.summary
    assert "2026-01-01T00:00:00+00:00" in overdue.summary
    approval = outcomes.awaiting_approval("c" * 40, links=LINKS)
    assert approval.conclusion == "action_required"
    assert f"/canon-gate approve {'c' * 40}" in approval.summary
    duplicate = outcomes.duplicate(42)
    assert duplicate.conclusion == "cancelled"
    for result in (superseded, overdue, approval, duplicate):
        assert result.actions == (RERUN_BUTTON,)
        assert_within_github_limits(result)


def test_rerun_identifier_matches_the_button() -> None:
    assert RERUN == RERUN_BUTTON["identifier"] == "rerun"


@pytest.mark.parametrize(
    "result",
    [
        verdict.decide(make_report(make_finding(), error="boom")),
        conclude(finished(UnsupportedSchema(2)), Governance(), LINKS).result,
        outcomes.not_evaluated("x"),
        outcomes.setup_required(),
        outcomes.superseded("c" * 40),
        outcomes.overdue(timedelta(minutes=1)),
        outcomes.awaiting_approval(),
        outcomes.duplicate(1),
    ],
)
def test_not_evaluated_paths_are_never_success(result: CheckRunResult) -> None:
    assert result.conclusion != "success"
    assert_within_github_limits(result)


# Ordering.


def test_annotations_order_substantive_new_persisting_cosmetic_waived() -> None:
    old_sub = make_finding("z.md", 1)
    new_sub_b = make_finding("b.md", 9)
    new_sub_a = make_finding("b.md", 2)
    cosmetic = make_finding("a.md", 1, substantive=False)
    waived = make_finding("a.md", 1, anchor="waived one")
    previous = make_report(old_sub, make_finding("gone.md"))
    current = make_report(cosmetic, waived, old_sub, new_sub_b, new_sub_a)
    waivers = {waived.id: waiver_for(waived)}
    lifecycle = compare(previous, current, waivers)
    result = verdict.decide(current, waivers=waivers, lifecycle=lifecycle)
    order = [(a["path"], a["start_line"], a["annotation_level"]) for a in result.annotations]
    assert order == [
        ("b.md", 2, "failure"),
        ("b.md", 9, "failure"),
        ("z.md", 1, "failure"),
        ("a.md", 1, "warning"),
        ("a.md", 1, "notice"),
    ]
    assert result.title.startswith("3 substantive findings")
    assert "(2 new, 1 persisting; also 1 cosmetic finding, 1 waived)" in result.summary


def test_lifecycle_sections_in_summary() -> None:
    kept, fixed = make_finding("kept.md"), make_finding("fixed.md")
    new, waived = make_finding("new.md"), make_finding("waived.md")
    waivers = {waived.id: waiver_for(waived, reason="legacy doc")}
    current = make_report(kept, new, waived)
    lifecycle = compare(make_report(kept, fixed), current, waivers)
    result = verdict.decide(current, waivers=waivers, lifecycle=lifecycle)
    summary = result.summary
    positions = [summary.index(f"### {name}") for name in ("New", "Persisting", "Waived")]
    positions.append(summary.index("### Resolved"))
    assert positions == sorted(positions)
    assert "### Resolved (1)" in summary
    assert "fixed.md:3" in summary
    assert "legacy doc" in summary
    # A resolved finding is in the summary but not annotated.
    assert "fixed.md" not in {a["path"] for a in result.annotations}


def test_lifecycle_waived_without_a_waiver_stays_blocking() -> None:
    finding = make_finding()
    lifecycle = Lifecycle(waived=[finding])
    result = verdict.decide(make_report(finding), lifecycle=lifecycle)
    assert result.conclusion == "failure"


# Batching.


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, [0]), (1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])]
)
def test_annotations_are_batched_by_50(count: int, sizes: list[int]) -> None:
    findings = [make_finding(f"f{i:03}.md", substantive=i % 3 == 0) for i in range(count)]
    result = verdict.decide(make_report(*findings), links=LINKS)
    payloads = result.payloads()
    got = [len(p["output"].get("annotations", [])) for p in payloads]  # type: ignore[attr-defined]
    assert got == sizes
    # Concluding last: a failed batch leaves the run open for the redelivery to finish.
    assert "conclusion" in payloads[-1]
    assert all("conclusion" not in p and "actions" not in p for p in payloads[:-1])
    # Substantive ones fill the first batch.
    levels = [a["annotation_level"] for a in result.annotations]
    assert levels == sorted(levels, key=["failure", "warning", "notice"].index)
    assert_within_github_limits(result)


# Caps under huge hostile input.


def test_huge_hostile_report_stays_within_limits() -> None:
    claim = ("| @everyone <script>alert(1)</script> ```\n" * 2_000) + "end"
    quote = "x" * 20_000
    findings = []
    for i in range(300):
        finding = make_finding(f"docs/{'d' * 300}/{i}.md", claim=claim, anchor=f"q{i}")
        evidence = [Evidence(quote=quote, source="canon/x.md", line=1)] * 3
        fix = SuggestedFix(description="d" * 100_000, replacement="r" * 100_000)
        findings.append(finding.model_copy(update={"evidence": evidence, "suggested_fix": fix}))
    hints = [{"name": "h" * 10_000, "exit_code": 1} for _ in range(200)]
    run = {"model": "m" * 100_000, "prompt_hash": "p" * 100_000, "pr": PR}
    report = Report.model_validate({"findings": findings, "hints": hints, "run": run})
    result = verdict.decide(report, links=LINKS, notes=["n" * 100_000])
    assert result.conclusion == "failure"
    assert_within_github_limits(result)
    assert len(result.payloads()) == 6
    assert result.summary.startswith(SUMMARY_MARKER)
    assert "more rows not shown" in result.summary
    assert LINKS.artifact_url in result.summary  # type: ignore[operator]
    assert "<script>" not in result.summary
    assert "@everyone" not in result.summary
    assert "### Session" in result.summary
    assert "/canon-gate waive" in result.summary


def test_huge_error_is_cut() -> None:
    report = make_report(error="E" * 1_000_000)
    result = verdict.decide(report, links=LINKS)
    assert result.conclusion == "failure"
    assert_within_github_limits(result)


def test_result_guards_its_limits() -> None:
    with pytest.raises(ValueError, match="summary"):
        CheckRunResult("success", "t", "s" * 65_536)
    with pytest.raises(ValueError, match="title"):
        CheckRunResult("success", "t" * 256, "s")
    with pytest.raises(ValueError, match="Re-run"):
        CheckRunResult("success", "t", "s", actions=())


# The structure check run.


def test_structure_not_run_is_none() -> None:
    assert structure_result(make_report()) is None


def test_structure_clean_is_success() -> None:
    result = structure_result(make_report(structure=[]))
    assert result is not None
    assert result.conclusion == "success"
    assert result.annotations == ()
    assert_within_github_limits(result)


def test_structure_problems_fail_on_their_exact_lines() -> None:
    problems = [
        StructureProblem(path="canon/b.md", line=7, rule="status", message="unknown status 'x'"),
        StructureProblem(path="canon/a.md", line=2, rule="required", message="missing `uri`"),
    ]
    result = structure_result(make_report(structure=problems), links=LINKS)
    assert result is not None
    assert result.conclusion == "failure"
    assert result.title == "Canon structure: 2 problems"
    spots = [(a["path"], a["start_line"], a["end_line"]) for a in result.annotations]
    assert spots == [("canon/a.md", 2, 2), ("canon/b.md", 7, 7)]
    assert all(a["annotation_level"] == "failure" for a in result.annotations)
    assert "unknown status" in result.summary
    assert_within_github_limits(result)


def test_structure_stands_even_when_the_session_failed() -> None:
    problem = StructureProblem(path="canon/a.md", line=1, rule="cycle", message="a -> a")
    result = structure_result(make_report(structure=[problem], error="quota"))
    assert result is not None
    assert result.conclusion == "failure"


def test_many_structure_problems_are_batched() -> None:
    problems = [
        StructureProblem(path=f"canon/{i}.md", line=i + 1, rule="r", message="m" * 1_000)
        for i in range(130)
    ]
    result = structure_result(make_report(structure=problems))
    assert result is not None
    assert [len(p["output"]["annotations"]) for p in result.payloads()] == [50, 50, 30]  # type: ignore[index]
    assert_within_github_limits(result)


def test_a_resumed_conclusion_sends_only_the_annotations_github_lacks() -> None:
    findings = [make_finding(f"f{i:03}.md", substantive=True) for i in range(120)]
    result = verdict.decide(make_report(*findings), links=LINKS)
    resumed = result.payloads(already=50)
    got = [len(p["output"].get("annotations", [])) for p in resumed]  # type: ignore[attr-defined]
    assert got == [50, 20]
    sent = [a for p in resumed for a in p["output"]["annotations"]]  # type: ignore[index]
    assert sent == list(result.annotations[50:])
    assert resumed[-1]["conclusion"] == "failure"
    assert [len(p["output"].get("annotations", [])) for p in result.payloads(already=120)] == [0]  # type: ignore[attr-defined]
