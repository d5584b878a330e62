"""Drift: the session harness against whatever claude-agent-sdk is installed.

In the suite it runs the locked SDK; `scripts/test-drift` runs it against the newest SDK the
constraints allow. It asserts only our behaviour through the real CLI: a structured result comes
back through the gate's harness, isolated, with the figures the report needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from claude_agent_sdk import PermissionResultAllow, create_sdk_mcp_server
from fakes.anthropic import FakeAnthropic, structured

from action.session.environment import build_session_env
from action.session.harness import SdkHarness, SessionSpec

pytestmark = [pytest.mark.drift, pytest.mark.cli]


async def test_the_harness_returns_a_structured_result_through_the_real_cli(
    tmp_path: Path,
) -> None:
    async with FakeAnthropic([structured({"findings": []})]) as model:
        env = build_session_env(
            {
                "CLAUDE_CODE_OAUTH_TOKEN": "oat01-drift-token-0123456789",
                "ANTHROPIC_BASE_URL": model.url,
            },
            tmp_path / "run",
            60,
        )

        async def allow(*_: object) -> dict[str, object]:
            return {}

        async def permit(tool: str, args: dict[str, object], context: object) -> object:
            return PermissionResultAllow()

        spec = SessionSpec(
            system_prompt="You are a test.",
            user_prompt="Finish with StructuredOutput.",
            cwd=tmp_path,
            run_dir=tmp_path / "run",
            env=env,
            output_schema={
                "type": "object",
                "properties": {"findings": {"type": "array"}},
                "required": ["findings"],
            },
            mcp_server=create_sdk_mcp_server("drift", "1.0.0", tools=[]),
            mcp_name="drift",
            can_use_tool=permit,
            pre_tool_use=allow,
            max_turns=5,
            max_budget_usd=1.0,
            wall_seconds=60,
        )
        out = await SdkHarness().run(spec)
    assert out.structured_output == {"findings": []}
    assert not out.is_error
    assert out.num_turns >= 1
