"""Every way a session falls short gives a not-evaluated SESSION report, through the real CLI."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from fakes.anthropic import FakeAnthropic, ToolCall, Turn, structured

from action.audit.inputs import AuditInputs
from action.audit.runner import run_audit
from action.report import ErrorKind, Report
from action.session.harness import SdkHarness, SessionOutcome, SessionSpec
from tests.action.support import OAUTH, BrokenStreamFake, assert_no_secrets, audit

pytestmark = pytest.mark.cli

DIFF = ToolCall("mcp__canon_gate__pr_diff", {})
FINDING = {
    "classification": "substantive",
    "kind": "contradiction",
    "path": "docs/ci.md",
    "start_line": 2,
    "claim": "A regex is the gate.",
    "evidence": [{"quote": "a regex decides whether a PR merges", "source": "docs/ci.md"}],
}


def assert_fail_closed(report: Report, says: str) -> None:
    assert report.status == "not_evaluated"
    assert report.error_kind is ErrorKind.SESSION, report.error_kind
    # Our own message's start, never the bundled CLI's wording (it changes between releases).
    assert (report.error or "").startswith(says), report.error
    assert report.findings == []


def configure(checkouts: tuple[Path, Path], limits: str) -> None:
    (checkouts[0] / ".github/canon-gate.yml").write_text(f"limits:\n{limits}")


class DenyOwnTools(SdkHarness):
    """The real harness with a permission layer that refuses the gate's own MCP tools.

    This is how a regression in the permission wiring (or a CLI that stops honouring our
    callback) would look to the runner: the denials come back in the ResultMessage.
    """

    async def run(self, spec: SessionSpec) -> SessionOutcome:
        allow_tool, allow_hook = spec.can_use_tool, spec.pre_tool_use

        async def can_use_tool(tool: str, args: dict[str, Any], context: Any) -> Any:
            from claude_agent_sdk import PermissionResultDeny

            if tool.startswith("mcp__canon_gate__"):
                return PermissionResultDeny(message="denied")
            return await allow_tool(tool, args, context)

        async def pre_tool_use(hook: Any, tool_use_id: str | None, context: Any) -> Any:
            if str(hook.get("tool_name", "")).startswith("mcp__canon_gate__"):
                decision = {"permissionDecision": "deny", "permissionDecisionReason": "denied"}
                return {"hookSpecificOutput": {"hookEventName": "PreToolUse", **decision}}
            return await allow_hook(hook, tool_use_id, context)

        spec.can_use_tool, spec.pre_tool_use = can_use_tool, pre_tool_use
        return await super().run(spec)


async def test_denied_own_tool(checkouts: tuple[Path, Path], fake: FakeAnthropic) -> None:
    fake.script = [Turn(tool_calls=[DIFF]), structured({"findings": []})]
    report = await audit(checkouts, fake, harness=DenyOwnTools())
    # The model did finish with "no findings", but without seeing the diff that means nothing.
    assert_fail_closed(report, "the gate's own tools were denied: mcp__canon_gate__pr_diff")
    assert "mcp__canon_gate__pr_diff" in {d.tool for d in report.run.denials}


async def test_cli_killed_before_a_result(
    checkouts: tuple[Path, Path], fake: FakeAnthropic, tmp_path: Path
) -> None:
    def crash() -> None:
        for pidfile in tmp_path.glob("canon-gate-*/run/cli.pid"):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)

    fake.on_request = crash
    fake.script = [Turn(tool_calls=[DIFF]), structured({"findings": []})]
    report = await audit(checkouts, fake, work_dir=tmp_path)
    assert_fail_closed(report, "the session failed before a result: ProcessError")
    assert "\n" not in (report.error or "")
    assert len(fake.message_requests) == 1


async def test_cli_that_cannot_speak(
    checkouts: tuple[Path, Path], fake: FakeAnthropic, tmp_path: Path
) -> None:
    broken = tmp_path / "claude"
    broken.write_text("#!/bin/sh\necho 'segmentation fault' >&2\nexit 139\n")
    broken.chmod(0o700)
    report = await audit(checkouts, fake, harness=SdkHarness(cli=broken))
    assert_fail_closed(report, "the session failed before a result")
    assert fake.requests == []


class Scripted:
    """A harness that returns a fixed outcome: for results the real CLI cannot be made to send."""

    def __init__(self, outcome: SessionOutcome) -> None:
        self.outcome = outcome

    async def run(self, spec: SessionSpec) -> SessionOutcome:
        return self.outcome


async def test_zero_turns(checkouts: tuple[Path, Path], fake: FakeAnthropic) -> None:
    # "success", a clean result and no error: only the turn count says the model never ran.
    outcome = SessionOutcome(subtype="success", num_turns=0, structured_output={"findings": []})
    report = await audit(checkouts, fake, harness=Scripted(outcome))
    assert_fail_closed(report, "the session ran zero turns")


async def test_a_result_the_schema_refuses(
    checkouts: tuple[Path, Path], fake: FakeAnthropic
) -> None:
    # The CLI validates the result first; a CLI that stopped doing so must not slip one past us.
    outcome = SessionOutcome(subtype="success", num_turns=1, structured_output={"findings": "x"})
    report = await audit(checkouts, fake, harness=Scripted(outcome))
    assert_fail_closed(report, "the structured result does not match the schema")


async def test_budget_stop(checkouts: tuple[Path, Path], fake: FakeAnthropic) -> None:
    configure(checkouts, "  max_budget_usd: 0.01\n")
    fake.script = [
        Turn(tool_calls=[DIFF], input_tokens=2_000_000, output_tokens=50_000),
        structured({"findings": []}),
    ]
    report = await audit(checkouts, fake)
    assert_fail_closed(report, "the session reached its budget (`limits.max_budget_usd`)")
    assert "error_max_budget_usd" in (report.error or "")
    assert report.run.cost_usd > 0.01
    assert len(fake.message_requests) == 1


async def test_max_turns(checkouts: tuple[Path, Path], fake: FakeAnthropic) -> None:
    configure(checkouts, "  max_turns: 1\n")
    fake.script = [Turn(tool_calls=[DIFF]), structured({"findings": [FINDING]})]
    report = await audit(checkouts, fake)
    assert_fail_closed(report, "the session reached its turn limit (`limits.max_turns`)")
    assert "error_max_turns" in (report.error or "")


async def test_structured_output_invalid_every_time(
    checkouts: tuple[Path, Path], fake: FakeAnthropic
) -> None:
    fake.script = [structured({"findings": "none"}) for _ in range(6)]
    report = await audit(checkouts, fake)
    assert_fail_closed(report, "the model's structured result failed validation on every retry")
    assert "error_max_structured_output_retries" in (report.error or "")
    assert len(fake.message_requests) == 5


async def test_malformed_stream_falls_back_once(checkouts: tuple[Path, Path]) -> None:
    """One malformed SSE answer: the CLI re-asks without streaming and gets the same turn."""
    async with BrokenStreamFake([structured({"findings": [FINDING]})]) as fake:
        report = await audit(checkouts, fake)
    assert [r.body.get("stream") for r in fake.message_requests] == [True, False]
    # The fallback delivered the model's whole answer, so the audit stands.
    assert report.error is None, report.error
    assert report.status == "fail"
    assert report.findings[0].evidence[0].verified
    assert_no_secrets(fake, report)


async def test_malformed_stream_and_fallback(checkouts: tuple[Path, Path]) -> None:
    async with BrokenStreamFake(
        [structured({"findings": []})], broken=100, fallback_broken=True
    ) as fake:
        report = await audit(checkouts, fake)
    assert_fail_closed(report, "the model API call failed")
    assert [r.body.get("stream") for r in fake.message_requests][-1] is False
    # The CLI's made-up error message is not the model that audited.
    assert report.run.model != "<synthetic>"


async def test_a_harness_other_than_the_pinned_one_never_starts_a_session(
    checkouts: tuple[Path, Path], fake: FakeAnthropic
) -> None:
    """Issue 10: another SDK or CLI is another judge; the runner refuses it, fail closed."""
    base, head = checkouts
    inputs = AuditInputs(
        base_dir=base,
        head_dir=head,
        pr=7,
        head_sha="h" * 40,
        base_sha="b" * 40,
        expected_harness=("0.0.1", "9.9.9"),
    )
    env = {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH, "ANTHROPIC_BASE_URL": fake.url}
    report = await run_audit(inputs, env, SdkHarness())
    assert report.status == "not_evaluated"
    assert report.error_kind is ErrorKind.CRASH
    assert (report.error or "").startswith("the installed harness (claude-agent-sdk")
    assert fake.requests == []  # no session was started
