"""Confine the session's read tools to the checkouts (canon included) and deny everything else.

The same decision backs two SDK entry points: a PreToolUse hook, which the CLI consults for every
tool call whatever its permission mode (so reads inside `cwd`, which the CLI would auto-allow, are
checked too), and `can_use_tool`, consulted for whatever the CLI would otherwise ask about. Paths
are resolved through symlinks first, so a PR that plants `link -> /proc/self/environ` is denied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from action.report import ToolDenial

READ_TOOLS = frozenset({"Read", "Grep", "Glob"})
STRUCTURED_OUTPUT_TOOL = "StructuredOutput"
# Parts of a path that are never read even inside a checkout.
_NEVER = frozenset({".git"})


@dataclass
class ReadGuard:
    """Decide every tool call; remember the denials for the report."""

    roots: list[Path]
    cwd: Path
    own_tools: frozenset[str]
    denials: list[ToolDenial] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.roots = [Path(os.path.realpath(r)) for r in self.roots]

    def _inside(self, raw: str) -> str | None:
        """Return why `raw` may not be read, or None when it is inside a root."""
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.cwd / path
        real = Path(os.path.realpath(path))
        if _NEVER & set(real.parts):
            return "git metadata is not readable"
        if any(real == root or root in real.parents for root in self.roots):
            return None
        return "outside the checkouts"

    def decide(self, tool: str, args: dict[str, Any]) -> str | None:
        """Return the reason to deny `tool(args)`, or None to allow it."""
        if tool in self.own_tools or tool == STRUCTURED_OUTPUT_TOOL:
            return None
        if tool not in READ_TOOLS:
            return f"tool {tool} is not available to the audit"
        targets = [str(args[k]) for k in ("file_path", "path") if args.get(k)]
        pattern = str(args.get("pattern", ""))
        if tool == "Glob" and (pattern.startswith(("/", "~")) or ".." in Path(pattern).parts):
            targets.append(pattern)
        if tool in ("Grep", "Glob") and not args.get("path"):
            targets.append(str(self.cwd))
        for target in targets:
            reason = self._inside(target)
            if reason is not None:
                return reason
        return None

    def check(self, tool: str, args: dict[str, Any]) -> str | None:
        reason = self.decide(tool, args)
        if reason is not None:
            target = str(args.get("file_path") or args.get("path") or args.get("pattern") or "")
            self.denials.append(ToolDenial(tool=tool, target=target[:200], reason=reason))
        return reason

    async def can_use_tool(self, tool: str, args: dict[str, Any], context: Any) -> Any:
        from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

        reason = self.check(tool, args)
        if reason is None:
            return PermissionResultAllow()
        return PermissionResultDeny(message=f"denied by canon-gate: {reason}")

    async def pre_tool_use(
        self, hook_input: Any, tool_use_id: str | None, context: Any
    ) -> dict[str, Any]:
        reason = self.check(str(hook_input.get("tool_name", "")), hook_input.get("tool_input", {}))
        if reason is None:
            return {}
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": f"denied by canon-gate: {reason}",
            }
        }
