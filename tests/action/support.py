"""Shared helpers for the data-plane tests: canon fixtures, secrets, the runner call, and what
the fake model was sent."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from fakes.anthropic import FakeAnthropic, Turn

from action.audit.inputs import AuditInputs
from action.audit.runner import run_audit
from action.report import Report
from action.session.harness import Harness, SdkHarness

OAUTH = "oat01-FAKE-subscription-token-0123456789"
API_KEY = "sk-ant-api03-FAKE-api-key-0123456789abcdef"
GITHUB_TOKEN = "ghs_FAKEgithubtoken0123456789ABCDEFGH"
RUNTIME_TOKEN = "eyJhbGciOiJIUzI1NiJ9.FAKEruntimeTOKENpayload.FAKEsignature123"

GOVERNING = """\
---
uri: klappy://canon/constraints/audit-gates-are-spawned-agent-sessions
title: "Audit Gates Are Spawned Agent Sessions, Not Pattern Matchers"
tier: 1
status: active
tags: ["canon", "constraint", "audit", "ci"]
date: 2026-05-07
supersedes: klappy://canon/constraints/audit-gates-are-managed-agents
derives_from: "canon/principles/vodka-architecture.md, canon/values/axioms.md"
governs: "Any merge-blocking validator that audits canon, docs or code-vs-canon sync."
---

# Audit Gates Are Spawned Agent Sessions

Mechanical scripts MAY run as pre-flight hints but MUST NOT serve as the gate.
The gate is a spawned agent session that fetches canon at runtime.
"""

RETIRED = """\
---
uri: klappy://canon/constraints/audit-gates-are-managed-agents
title: "Audit Gates Are Managed Agents"
tier: 1
status: superseded
superseded_by: klappy://canon/constraints/audit-gates-are-spawned-agent-sessions
tags: ["canon", "constraint"]
---

# Audit Gates Are Managed Agents

The gate is a Managed Agent.
"""

VODKA = """\
---
uri: klappy://canon/principles/vodka-architecture
title: Vodka Architecture
tier: 0
status: active
tags: [principle]
---

Governance is fetched, never hardcoded. Constraints describe what to check, not the script.
"""

CHECK_SCRIPT = """\
# CI gate
The merge gate is scripts/check-canon-drift.py: a regex decides whether a PR merges.
"""


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_checkouts(tmp_path: Path) -> tuple[Path, Path]:
    """The Action's layout: the base at the root, the PR head nested in `.canon-gate/head`."""
    base = tmp_path / "ws"
    base_files = {
        "canon/constraints/audit-gates-are-spawned-agent-sessions.md": GOVERNING,
        "canon/constraints/audit-gates-are-managed-agents.md": RETIRED,
        "canon/principles/vodka-architecture.md": VODKA,
        "docs/ci.md": "# CI gate\nThe gate is a spawned session.\n",
        ".github/canon-gate.yml": (
            "canon:\n  foundation: [klappy://canon/principles/vodka-architecture]\n"
            "limits:\n  max_turns: 8\n  wall_time_seconds: 20\n"
        ),
    }
    write_tree(base, base_files)
    head = base / ".canon-gate" / "head"
    write_tree(head, {**base_files, "docs/ci.md": CHECK_SCRIPT})
    return base, head


def parent_env(fake: FakeAnthropic, **extra: str) -> dict[str, str]:
    """The runner's parent environment, as a GitHub runner would have it: full of secrets."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ANTHROPIC_BASE_URL": fake.url,
        "CLAUDE_CODE_OAUTH_TOKEN": OAUTH,
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "ACTIONS_RUNTIME_TOKEN": RUNTIME_TOKEN,
        "HOME": os.environ.get("HOME", "/root"),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v}


async def audit(
    checkouts: tuple[Path, Path],
    fake: FakeAnthropic,
    work_dir: Path | None = None,
    harness: Harness | None = None,
    merge_base: Path | None = None,
    hints_file: Path | None = None,
    **env: str,
) -> Report:
    """Audit as the local CLI does (hints in-process), or as the Action does given the hints
    job's file."""
    base, head = checkouts
    inputs = AuditInputs(
        base_dir=base,
        head_dir=head,
        merge_base_dir=merge_base,
        merge_base_sha="m" * 40 if merge_base else None,
        repo="acme/widgets",
        pr=7,
        head_sha="h" * 40,
        base_sha="b" * 40,
        check_run_id=99,
        workflow_run_id=1234,
        hints_file=hints_file,
        hints_in_process=hints_file is None,
    )
    return await run_audit(
        inputs, parent_env(fake, **env), harness or SdkHarness(), work_dir=work_dir
    )


class NoSession:
    """A harness that must never be reached."""

    async def run(self, spec: object) -> object:
        raise AssertionError("no session may be spawned")


def system_text(fake: FakeAnthropic, index: int = 0) -> str:
    """The system prompt of one request to the fake model, as one text."""
    system = fake.message_requests[index].body["system"]
    return "".join(b.get("text", "") for b in system) if isinstance(system, list) else str(system)


_OPENING = re.compile(r"<untrusted-([0-9a-f]{32}) ")


def untrusted_blocks(system: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a system prompt at its data blocks: the text outside them, and each block's opening
    tag and body. The run's nonce is the one of the first block (it is ours: the changed files)."""
    match = _OPENING.search(system)
    assert match is not None, "the prompt has no data block"
    nonce = match.group(1)
    block = re.compile(rf"<untrusted-{nonce} ([^\n]*)>\n(.*?)</untrusted-{nonce}>\n", re.DOTALL)
    return block.sub("", system), [(m.group(1), m.group(2)) for m in block.finditer(system)]


def changed_files(system: str) -> list[str]:
    """The lines of the prompt's list of changed files."""
    _, blocks = untrusted_blocks(system)
    (body,) = [body for tag, body in blocks if tag == 'kind="changed-files"']
    return body.splitlines()


def tool_results(fake: FakeAnthropic) -> list[dict[str, Any]]:
    """Every tool result the model was sent, once each (requests repeat the conversation)."""
    found: dict[str, dict[str, Any]] = {}
    for request in fake.message_requests:
        for message in request.body.get("messages", []):
            if message.get("role") == "user" and isinstance(message.get("content"), list):
                for block in message["content"]:
                    if block.get("type") == "tool_result":
                        found[block["tool_use_id"]] = block
    return list(found.values())


async def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a command; return its exit status and its stdout, then the end of its stderr."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode() + err.decode()[-2000:]


def json_out(output: str) -> Any:
    """The JSON document a command printed on stdout, from `run_cli`'s output (stdout first,
    then the end of stderr, where `canon-gate audit` names what governs)."""
    document, _ = json.JSONDecoder().raw_decode(output.lstrip())
    return document


def assert_no_secrets(fake: FakeAnthropic, report: Report | None = None) -> None:
    """No secret value in any request body, and none in the report."""
    for request in fake.requests:
        for secret in (OAUTH, API_KEY, GITHUB_TOKEN, RUNTIME_TOKEN):
            assert secret not in request.raw
    if report is not None:
        text = report.model_dump_json()
        for secret in (OAUTH, API_KEY, GITHUB_TOKEN, RUNTIME_TOKEN):
            assert secret not in text


class BrokenStreamFake(FakeAnthropic):
    """The fake model whose first `broken` streamed answers are malformed SSE.

    A broken answer does not consume its turn, so the CLI's non-streaming fallback request gets
    it intact. With `fallback_broken`, the non-streaming answer is malformed JSON as well.
    """

    def __init__(self, script: list[Turn], broken: int = 1, fallback_broken: bool = False) -> None:
        super().__init__(script)
        self.broken = broken
        self.fallback_broken = fallback_broken

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read() or b"{}")
        if self.fallback_broken and not body.get("stream"):
            await self._record(request)
            return web.Response(
                text='{"type": "message", "content": [', content_type="application/json"
            )
        return await super()._messages(request)

    async def _stream(
        self, request: web.Request, message: dict[str, Any], blocks: list[dict[str, Any]]
    ) -> web.StreamResponse:
        if self.broken <= 0:
            return await super()._stream(request, message, blocks)
        self.broken -= 1
        self._position -= 1  # not delivered: the fallback request gets the same turn
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b'event: message_start\ndata: {"type": "message_start", "message": {\n\n')
        await resp.write(b"event: content_block_delta\ndata: not json at all\n\n")
        await resp.write_eof()
        return resp
