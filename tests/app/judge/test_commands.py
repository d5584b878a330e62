"""PR comment commands and the waiver decision: pure, with every refusal's reply."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from action.config import Waivers
from action.report import Classification, Finding, Kind, Location, Report, RunInfo
from app.events import CheckRun
from app.judge.commands import (
    HELP,
    Approve,
    Command,
    Help,
    Malformed,
    Rerun,
    Unwaive,
    Waive,
    parse_command,
)
from app.judge.correlate import AuditKey
from app.judge.grants import (
    Accepted,
    CommentContext,
    Decision,
    Ignored,
    Refused,
    audit_running,
    check_approval,
    check_command,
    check_unwaiver,
    check_waiver,
    is_bot,
    recompute_blocker,
)
from app.judge.replies import help_reply, waived_reply
from app.ledger.records import AuditRecord, audit_record
from app.ledger.waivers import Audited, Waiver, waivers_in_force

FID = "cg-0123abcd45"


def finding(fid: str = FID, classification: Classification = Classification.SUBSTANTIVE) -> Finding:
    return Finding(
        id=fid,
        classification=classification,
        kind=Kind.DRIFT,
        location=Location(path="docs/a.md", start_line=1, end_line=2),
        claim="drifts",
    )


REPORT = Report(findings=[finding()])


def waive(
    context: CommentContext, command: Command, latest: Report | None, *, ledger: bool = True
) -> Decision:
    """Decide a comment as the handler does: the command's rules, then the waiver's."""
    decision = check_command(context, command)
    if not isinstance(command, Waive):
        return decision
    return check_waiver(decision, command, latest, ledger_enabled=ledger)


def ctx(**changes: object) -> CommentContext:
    base: dict[str, object] = {
        "action": "created",
        "on_pull_request": True,
        "sender_login": "alice",
        "sender_type": "User",
        "permission": "write",
        "app_slug": "canon-gate",
    }
    base.update(changes)
    return CommentContext(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (f"/canon-gate waive {FID} false positive, see #3", Waive(FID, "false positive, see #3")),
        (f"Thanks!\n\n  /canon-gate waive {FID.upper()}   agreed with @bob  \nbye", None),
        ("/canon-gate rerun", Rerun()),
        ("please\r\n/canon-gate help\r\n", Help()),
        ("/CANON-GATE Rerun", Rerun()),
        ("no command here", None),
        ("use `/canon-gate rerun` to rerun", None),
        ("> /canon-gate rerun\nquoted, not a command", None),
        ("```\n/canon-gate rerun\n```", None),
        ("/canon-gatewaive x", None),
        ("", None),
    ],
)
def test_parse_command(body: str, expected: object) -> None:
    result = parse_command(body)
    if "agreed with @bob" in body:
        assert result == Waive(FID, "agreed with @bob")
    else:
        assert result == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("    /canon-gate rerun", id="indented code block"),
        pytest.param("text\n\n    /canon-gate rerun\n", id="indented code after a paragraph"),
        pytest.param("<!--\n/canon-gate rerun\n-->", id="HTML comment block"),
        pytest.param("<!-- /canon-gate rerun -->", id="one-line HTML comment"),
        pytest.param("Hi <!--\n/canon-gate rerun\n-->", id="inline HTML comment"),
        pytest.param("<details>\n/canon-gate rerun\n</details>", id="HTML block"),
        pytest.param("x\n<span>/canon-gate rerun</span>", id="inline HTML first"),
        pytest.param("```\ncode\n~~~\n/canon-gate rerun", id="fence closed by the other kind"),
        pytest.param("~~~\ncode\n```\n/canon-gate rerun\n", id="tilde fence closed by ticks"),
        pytest.param("````\n```\n/canon-gate rerun\n````", id="longer fence"),
        pytest.param("> quoted\n/canon-gate rerun", id="lazy block quote continuation"),
        pytest.param("`/canon-gate rerun`", id="inline code"),
        pytest.param("# /canon-gate rerun", id="heading"),
        pytest.param("/canon-gate rerun\n---", id="setext heading"),
        pytest.param("- /canon-gate rerun", id="list item"),
        pytest.param("*/canon-gate rerun*", id="emphasis first"),
    ],
)
def test_commands_a_reader_does_not_see_as_text_are_not_commands(body: str) -> None:
    assert parse_command(body) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("```\ncode\n```\n/canon-gate rerun", Rerun()),
        ("<!-- note -->\n\n/canon-gate rerun", Rerun()),
        ("Looks good.\n/canon-gate rerun\nthanks", Rerun()),
        (f"/canon-gate waive {FID} see *this* and `that`", Waive(FID, "see this and `that`")),
        (f"/canon-gate waive {FID} ok<!-- hidden -->!", Waive(FID, "ok!")),
        (f"/canon-gate waive {FID} a \\*b\\* &amp; c", Waive(FID, "a *b* & c")),
    ],
)
def test_commands_in_plain_paragraph_text_are_read_as_a_reader_sees_them(
    body: str, expected: object
) -> None:
    assert parse_command(body) == expected


def test_parse_none_body() -> None:
    assert parse_command(None) is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (f"/canon-gate waive {FID}", "needs a reason"),
        ("/canon-gate waive", "Which finding"),
        ("/canon-gate waive cg-xyz because", "is not a finding id"),
        ("/canon-gate waive cg-0123abcd4 because", "10 hex digits"),
        ("/canon-gate frobnicate", "is not a canon-gate command"),
        ("/canon-gate", "is not a canon-gate command"),
        ("/canon-gate rerun now", "is not a canon-gate command"),
        (f"/canon-gate waive {FID} " + "x" * 1001, "longer than"),
    ],
)
def test_malformed_commands_say_what_is_wrong(body: str, needle: str) -> None:
    result = parse_command(body)
    assert isinstance(result, Malformed)
    assert needle in result.reply


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/canon-gate approve ABCDEF123456", Approve("abcdef123456")),
        ("/canon-gate approve " + "0" * 40, Approve("0" * 40)),
    ],
)
def test_parse_approve(body: str, expected: Approve) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("/canon-gate approve", "Which commit?"),
        ("/canon-gate approve abcdef", "is not a commit SHA"),
        ("/canon-gate approve " + "0" * 41, "is not a commit SHA"),
        ("/canon-gate approve abcdefg", "is not a commit SHA"),
        ("/canon-gate approve abcdef1 please", "is not a commit SHA"),
    ],
)
def test_a_malformed_approval_says_what_is_wrong(body: str, needle: str) -> None:
    result = parse_command(body)
    assert isinstance(result, Malformed)
    assert needle in result.reply


HEAD = "abcdef1" + "2" * 33


@pytest.mark.parametrize("prefix", [HEAD[:7], HEAD[:20], HEAD])
def test_an_approval_of_the_current_head_is_accepted(prefix: str) -> None:
    command = Approve(prefix)
    assert check_approval(check_command(ctx(), command), command, HEAD) == Accepted(command)


def test_an_approval_of_another_head_is_refused_naming_the_current_one() -> None:
    command = Approve("abcdef0")
    decision = check_approval(check_command(ctx(), command), command, HEAD)
    assert isinstance(decision, Refused)
    assert decision.reply.startswith("`abcdef0` is not the head of this pull request")
    assert f"/canon-gate approve {HEAD}" in decision.reply


def test_an_approval_needs_write_whatever_the_head() -> None:
    command = Approve(HEAD)
    decision = check_approval(check_command(ctx(permission="read"), command), command, HEAD)
    assert isinstance(decision, Refused)
    assert "write, maintain or admin" in decision.reply


def test_first_command_wins() -> None:
    assert parse_command("/canon-gate help\n/canon-gate rerun") == Help()


def test_a_valid_waiver_is_accepted_with_its_finding() -> None:
    decision = waive(ctx(), Waive(FID, "ok"), REPORT)
    assert decision == Accepted(Waive(FID, "ok"), finding())


@pytest.mark.parametrize("permission", ["admin", "maintain", "write"])
def test_write_maintain_admin_may_waive(permission: str) -> None:
    assert isinstance(waive(ctx(permission=permission), Waive(FID, "r"), REPORT), Accepted)


@pytest.mark.parametrize("permission", ["read", "triage", "none", None])
def test_read_only_users_are_refused(permission: str | None) -> None:
    decision = waive(ctx(permission=permission), Waive(FID, "r"), REPORT)
    assert isinstance(decision, Refused)
    assert "write, maintain or admin" in decision.reply
    assert "@alice" in decision.reply


@pytest.mark.parametrize("action", ["edited", "deleted"])
def test_edited_or_deleted_comments_change_nothing(action: str) -> None:
    decision = waive(ctx(action=action), Waive(FID, "r"), REPORT)
    assert isinstance(decision, Refused)
    assert action in decision.reply
    assert "new comment" in decision.reply


def test_an_issue_comment_is_refused() -> None:
    decision = waive(ctx(on_pull_request=False), Waive(FID, "r"), REPORT)
    assert isinstance(decision, Refused)
    assert "pull request" in decision.reply
    assert "issue" in decision.reply


@pytest.mark.parametrize(
    ("login", "kind"),
    [
        ("dependabot[bot]", "Bot"),
        ("renovate[bot]", "User"),
        ("someapp", "Bot"),
        ("canon-gate[bot]", "Bot"),
        ("canon-gate", "User"),
    ],
)
def test_bots_and_the_app_itself_are_ignored(login: str, kind: str) -> None:
    decision = waive(ctx(sender_login=login, sender_type=kind), Waive(FID, "r"), REPORT)
    assert isinstance(decision, Ignored)
    assert is_bot(login, kind, "canon-gate")


def test_ledger_off_makes_waivers_unavailable() -> None:
    decision = waive(ctx(), Waive(FID, "r"), REPORT, ledger=False)
    assert isinstance(decision, Refused)
    assert "unavailable" in decision.reply
    assert "ledger: false" in decision.reply


def test_unknown_finding_id_is_refused() -> None:
    decision = waive(ctx(), Waive("cg-ffffffffff", "r"), REPORT)
    assert isinstance(decision, Refused)
    assert "cg-ffffffffff" in decision.reply
    assert "latest" in decision.reply


def test_no_audit_yet_is_refused() -> None:
    decision = waive(ctx(), Waive(FID, "r"), None)
    assert isinstance(decision, Refused)
    assert "no recorded" in decision.reply


def test_a_malformed_waiver_is_refused_with_its_own_reply() -> None:
    command = parse_command(f"/canon-gate waive {FID}")
    assert command is not None
    decision = waive(ctx(), command, REPORT)
    assert isinstance(decision, Refused)
    assert "needs a reason" in decision.reply


def test_help_is_for_anyone_but_rerun_needs_write() -> None:
    reader = ctx(permission="read", on_pull_request=False)
    assert check_command(reader, Help()) == Accepted(Help())
    assert isinstance(check_command(ctx(permission="read"), Rerun()), Refused)
    assert check_command(ctx(), Rerun()) == Accepted(Rerun())
    assert "/canon-gate waive <finding-id> <reason>" in HELP


def test_waived_reply() -> None:
    assert waived_reply(FID, "known gap", "success") == (
        f"Waived {FID}: known gap. The verdict is now success."
    )


T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def waiver(at: datetime, fid: str = FID, reason: str = "r") -> Waiver:
    return Waiver(finding_id=fid, reason=reason, user="alice", at=at, pr=12, head_sha="a" * 40)


def test_a_waiver_follows_its_finding_while_it_persists() -> None:
    with_f = Report(findings=[finding()])
    audits = [
        Audited(T0, with_f),
        Audited(T0 + timedelta(hours=2), with_f),
        Audited(T0 + timedelta(hours=3), with_f),
    ]
    assert waivers_in_force([waiver(T0 + timedelta(hours=1))], audits) == {
        FID: waiver(T0 + timedelta(hours=1))
    }


def test_a_waiver_lapses_once_its_finding_is_resolved() -> None:
    audits = [
        Audited(T0, Report(findings=[finding()])),
        Audited(T0 + timedelta(hours=2), Report(findings=[])),
        Audited(T0 + timedelta(hours=3), Report(findings=[finding()])),
    ]
    assert waivers_in_force([waiver(T0 + timedelta(hours=1))], audits) == {}


def test_a_not_evaluated_audit_does_not_lapse_a_waiver() -> None:
    audits = [Audited(T0 + timedelta(hours=2), Report(error="quota"))]
    assert FID in waivers_in_force([waiver(T0)], audits)


def test_the_newest_waiver_of_an_id_wins() -> None:
    older, newer = waiver(T0, reason="old"), waiver(T0 + timedelta(minutes=5), reason="new")
    assert waivers_in_force([newer, older], []) == {FID: newer}


def test_a_malformed_command_is_echoed_escaped() -> None:
    body = "/canon-gate x` @octo-org/everyone ![img](https://evil.example/p.png) `"
    command = parse_command(body)
    assert isinstance(command, Malformed)
    assert "@octo-org" not in command.reply  # the mention is neutralised
    assert "![img]" not in command.reply  # no image renders
    assert re.search(r"(?<!\\)`", command.reply.split("\n")[0]) is None  # every ` escaped


@pytest.mark.parametrize("permission", ["read", "triage", "none", None])
def test_non_writers_get_no_answer_to_malformed_or_edited_commands(
    permission: str | None,
) -> None:
    malformed = parse_command("/canon-gate frobnicate")
    assert isinstance(check_command(ctx(permission=permission), malformed), Ignored)
    edited = ctx(permission=permission, action="edited")
    assert isinstance(check_command(edited, parse_command("/canon-gate rerun")), Ignored)
    # A real command still gets the one fixed answer saying who may use it.
    assert isinstance(check_command(ctx(permission=permission), Rerun()), Refused)


def test_help_is_answered_for_everyone() -> None:
    assert isinstance(check_command(ctx(permission=None), Help()), Accepted)


# Unwaive, separation of duties, and when a recorded report may give a waiver's verdict.


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (f"/canon-gate unwaive {FID}", Unwaive(FID)),
        (f"/canon-gate unwaive {FID.upper()} fixed in #9", Unwaive(FID, "fixed in #9")),
    ],
)
def test_parse_unwaive(body: str, expected: Unwaive) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    ("body", "needle"),
    [("/canon-gate unwaive", "Which finding"), ("/canon-gate unwaive cg-1", "is not a finding id")],
)
def test_a_malformed_unwaive_says_what_is_wrong(body: str, needle: str) -> None:
    result = parse_command(body)
    assert isinstance(result, Malformed)
    assert needle in result.reply


def authored(author: str, policy: Waivers | None = None, sender: str = "alice") -> Decision:
    command = Waive(FID, "r")
    decision = check_command(ctx(sender_login=sender), command)
    return check_waiver(
        decision, command, REPORT, ledger_enabled=True, sender=sender, author=author, policy=policy
    )


def test_the_author_may_not_waive_on_their_own_pull_request() -> None:
    decision = authored("Alice")  # logins compare without case
    assert isinstance(decision, Refused)
    assert decision.reply.startswith("@alice, you opened this pull request")
    assert isinstance(authored("bob"), Accepted)
    assert isinstance(authored("alice", Waivers(allow_author=True)), Accepted)


def test_unwaive_needs_a_waiver_in_force() -> None:
    command = Unwaive(FID)
    accepted = check_command(ctx(), command)
    in_force = {FID: waiver(T0)}
    assert check_unwaiver(accepted, command, in_force, ledger_enabled=True) == Accepted(command)
    refused = check_unwaiver(accepted, command, {}, ledger_enabled=True)
    assert isinstance(refused, Refused)
    assert refused.reply.startswith(f"No waiver of `{FID}` is in force")
    off = check_unwaiver(accepted, command, in_force, ledger_enabled=False)
    assert isinstance(off, Refused)
    assert "ledger: false" in off.reply


TIP, KEY = "c" * 40, "gk1-0123456789abcdef"


def recorded(head: str = TIP, key: str | None = KEY, error: str | None = None) -> AuditRecord:
    report = Report(run=RunInfo(pr=12, head_sha=head), findings=[finding()], error=error)
    return audit_record(report, repo="o/r", conclusion="failure", governance_key=key)


@pytest.mark.parametrize(
    ("latest", "active", "start"),
    [
        (recorded(), False, None),
        (recorded(), True, "an audit of this head is running"),
        (None, False, "there is no recorded audit"),
        (recorded(head="d" * 40), False, "the latest recorded audit judged ddddddd"),
        (recorded(key="gk1-ffffffffffffffff"), False, "the config or canon of the base branch"),
        (recorded(key=None), False, "the config or canon of the base branch"),
        (recorded(error="quota"), False, "the latest recorded audit was not evaluated"),
    ],
)
def test_a_recorded_report_gives_the_verdict_only_for_the_head_and_key_that_govern_now(
    latest: AuditRecord | None, active: bool, start: str | None
) -> None:
    why = recompute_blocker(latest, head_sha=TIP, key=KEY, active=active)
    assert why is None if start is None else (why or "").startswith(start)


def run(status: str, pr: int = 12, trigger: str = "") -> CheckRun:
    key = AuditKey(pr, TIP, "b" * 40, governance=KEY, trigger=trigger)
    return CheckRun(
        id=1, name="canon-gate", head_sha=TIP, status=status, external_id=key.external_id
    )


def test_an_audit_is_running_only_when_an_active_audit_of_this_pr_is() -> None:
    assert audit_running([run("in_progress")], 12)
    assert audit_running([run("queued", trigger="delivery-1")], 12)
    assert not audit_running([run("completed")], 12)
    assert not audit_running([run("in_progress", pr=13)], 12)
    # A waiver's own verdict run, still taking its annotations, is no audit.
    assert not audit_running([run("in_progress", trigger="comment-77")], 12)


def test_help_lists_the_waivers_in_force_escaped() -> None:
    assert help_reply(None) == HELP
    assert help_reply({}).endswith("**Waivers in force on this pull request:** none.")
    hostile = Waiver(
        FID, "see <img src=x> @team", "alice", T0, 12, "a" * 40, T0 + timedelta(days=3)
    )
    listed = help_reply({FID: hostile})
    assert "**Waivers in force on this pull request** (1):" in listed
    assert f"- `{FID}`, by alice on 2026-05-01, expires 2026-05-04: " in listed
    assert "<img" not in listed
    assert "@team" not in listed
