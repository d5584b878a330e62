"""The gate's in-process MCP tools: canon_search, canon_get and pr_diff.

They serve only data `prepare` already loaded (the base branch's canon, the diff between the
checkouts), so they cannot be steered into reading anything else. Findings are not a tool: they
are the run's structured output (see `action.audit.findings`).
"""

from __future__ import annotations

import json
from typing import Any

from action.audit.diff import FileChange, quoted
from action.canon.index import CanonIndex
from action.canon.model import Canon

SERVER = "canon_gate"
TOOL_NAMES = ("canon_search", "canon_get", "pr_diff")
MAX_TEXT = 60_000


def qualified(name: str) -> str:
    return f"mcp__{SERVER}__{name}"


def _unquoted(path: str) -> str:
    """A path as the listing quoted it, back to the name (the model may pass either)."""
    try:
        name = json.loads(path)
    except ValueError:
        return path
    return name if isinstance(name, str) else path


def _text(text: str, error: bool = False) -> dict[str, Any]:
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[truncated]\n"
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}]}
    if error:
        result["is_error"] = True
    return result


class GateTools:
    """Pure handlers over the loaded canon and diff; `server()` wraps them for the SDK."""

    def __init__(
        self, canon: Canon, changes: list[FileChange], index: CanonIndex | None = None
    ) -> None:
        self.canon = canon
        self.index = index or CanonIndex(canon)
        self.changes = {c.path: c for c in changes}

    async def canon_search(self, args: dict[str, Any]) -> dict[str, Any]:
        hits = self.index.search(str(args.get("query", "")), int(args.get("limit") or 8))
        if not hits:
            return _text("no canon document matches")
        lines = []
        for doc, snippet in hits:
            force = self.canon.in_force(doc)
            note = "" if force is doc else f" (superseded; in force: {force.uri})"
            lines.append(
                f"- {doc.uri} [{doc.status or 'no status'}] {doc.title}{note}\n  {snippet}"
            )
        return _text("\n".join(lines))

    async def canon_get(self, args: dict[str, Any]) -> dict[str, Any]:
        ref = str(args.get("ref", ""))
        doc = self.canon.get(ref)
        if doc is None:
            others = self.canon.links.candidates(ref)
            if others:
                named = ", ".join(d.uri for d in others)
                return _text(f"{ref!r} is the stem of several documents: {named}", error=True)
            return _text(f"no canon document {ref!r}", error=True)
        force = self.canon.in_force(doc)
        header = f"uri: {doc.uri}\npath: {doc.path}\nstatus: {doc.status}\n"
        source = self.canon.source_of(doc)
        if source is not None:
            info = source[0]
            header += f"source: {info.repo} at {info.commit} (canon from another repository)\n"
        if force is not doc:
            header += f"superseded; in force: {force.uri}\n"
        return _text(header + "\n" + doc.text)

    async def pr_diff(self, args: dict[str, Any]) -> dict[str, Any]:
        path = args.get("path")
        if not path:
            # Names are the PR's: quoted, so none can break a line of the listing.
            listing = "".join(f"{c.status}: {quoted(c.path)}\n" for c in self.changes.values())
            return _text(listing or "no files changed in scope")
        change = self.changes.get(str(path)) or self.changes.get(_unquoted(str(path)))
        if change is None:
            return _text(f"{quoted(str(path))} is not changed by this pull request", error=True)
        return _text(change.diff)

    def server(self) -> Any:
        from claude_agent_sdk import create_sdk_mcp_server, tool

        search = tool(
            "canon_search",
            "Full-text search of the canon at the base branch; returns URIs, status, snippets.",
            {
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["query"],
            },
        )(self.canon_search)
        get = tool(
            "canon_get",
            "Return one canon document (by URI or path) in full, with what supersedes it.",
            {"type": "object", "properties": {"ref": {"type": "string"}}, "required": ["ref"]},
        )(self.canon_get)
        diff = tool(
            "pr_diff",
            "Without a path: list the changed files (JSON-quoted names). With a path (the name, "
            "quoted or not): that file's unified diff.",
            {"type": "object", "properties": {"path": {"type": "string"}}},
        )(self.pr_diff)
        return create_sdk_mcp_server(SERVER, "1.0.0", tools=[search, get, diff])
