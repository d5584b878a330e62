"""Helpers for the App's tests: settings for the fake GitHub, reports and artifacts."""

from __future__ import annotations

import io
import json
import re
import socket
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp.test_utils import TestServer
from fakes.github import FakeGitHub
from fakes.github.state import Repo
from pydantic import SecretStr

from action.config import CONFIG_PATH, AppConfig, parse_config
from action.governance import DEFAULT_GATE, Governs, canon_roots, governance_key
from action.report import (
    CALLER_VERSION,
    REPORT_FILENAME,
    Classification,
    Evidence,
    Finding,
    Kind,
    Location,
    Report,
    RunInfo,
    SuggestedFix,
    fingerprint,
)
from app.edge.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "webhook-secret-for-tests"
ADMIN_TOKEN = "admin-token-for-tests"
INSTALLATION_ID = 7001
REPO_ID = 9001
REPO_NAME = "octo-org/handbook"
CANON = """---
uri: klappy://canon/constraints/audit-gates
title: "Audit Gates Are Spawned Agent Sessions"
tier: 1
status: active
---
# Audit gates
The gate is a spawned agent session that fetches canon at runtime.
"""


StartGate = Callable[..., Awaitable["Gate"]]


@dataclass
class Gate:
    fake: FakeGitHub
    server: TestServer
    settings: Settings
    repo: Repo

    async def deliver(
        self, event: str, payload: dict[str, Any], delivery_id: str | None = None
    ) -> int:
        return await self.fake.deliver(event, payload, delivery_id=delivery_id)

    def check_runs(self, name: str = "canon-gate") -> list[Any]:
        return [r for r in self.repo.check_runs.values() if r.name == name]

    def url(self, path: str = "/") -> str:
        return str(self.server.make_url(path))

    def runs_for_pr(self, number: int) -> list[Any]:
        return [r for r in self.repo.runs.values() if r.inputs.get("pr") == str(number)]

    def runs_for(self, check_run_id: int) -> list[Any]:
        return [
            r for r in self.repo.runs.values() if r.inputs.get("check_run_id") == str(check_run_id)
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(fake: FakeGitHub, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "github_app_id": fake.app_id,
        "github_app_slug": "canon-gate",
        "github_app_private_key": SecretStr(fake.private_key),
        "github_webhook_secret": SecretStr(WEBHOOK_SECRET),
        "github_api_url": fake.base_url,
        "github_web_url": fake.web_url,
        "redeliver_interval_seconds": 0,
        "env_file": tmp_path / ".env",
        "log_format": "json",
        "admin_token": SecretStr(ADMIN_TOKEN),
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def finding(
    *,
    id: str | None = None,
    path: str = "docs/guide.md",
    classification: Classification = Classification.SUBSTANTIVE,
    kind: Kind = Kind.DRIFT,
    anchor: str = "The gate is a spawned agent session",
    claim: str = "The guide says a regex script gates merges, contradicting the canon.",
    line: int = 3,
) -> Finding:
    """A finding as the action reports it; its id is the fingerprint unless `id` is given."""
    canon = ["klappy://canon/constraints/audit-gates"]
    return Finding(
        id=id or fingerprint(path, kind, canon, anchor),
        classification=classification,
        kind=kind,
        location=Location(path=path, start_line=line, end_line=line),
        claim=claim,
        evidence=[Evidence(quote=anchor, source=canon[0], line=7, verified=True)],
        canon=canon,
        suggested_fix=SuggestedFix(description="Say the session is the gate."),
    )


def report(
    *findings: Finding,
    pr: int = 12,
    head: str = "a" * 40,
    error: str | None = None,
    **run_fields: Any,
) -> Report:
    """A report of an evaluated audit of `REPO_NAME` (check run 99), as the action writes it."""
    fields: dict[str, Any] = {
        "repo": REPO_NAME,
        "pr": pr,
        "head_sha": head,
        "base_sha": "b" * 40,
        "check_run_id": 99,
        **run_fields,
    }
    return Report(run=RunInfo(**fields), findings=list(findings), error=error)


def governance_key_at(repo: Repo, sha: str, gate: str = DEFAULT_GATE) -> str | None:
    """The governance key the App computes for a commit of a fake repository (None: no commit)."""
    if sha not in repo.store.commits:
        return None
    root = repo.store.commits[sha].tree
    files = repo.store.flatten(root)
    config_entry = files.get(CONFIG_PATH)
    config = (
        parse_config(repo.store.blobs[config_entry[1]].decode(), view=AppConfig)
        if config_entry
        else AppConfig()
    )

    def object_id(path: str) -> str | None:
        if not path:
            return root
        if path in files:
            return files[path][1]
        try:
            return repo.store.subtree(root, path)
        except KeyError:
            return None

    canon = tuple((r, object_id(r)) for r in canon_roots(config.canon.paths))
    governs = Governs(config=config_entry[1] if config_entry else None, canon=canon, gate=gate)
    return governance_key(governs)


def report_for(
    run: Any,
    *,
    findings: list[Finding] | None = None,
    error: str | None = None,
    gate: str = DEFAULT_GATE,
    **run_fields: Any,
) -> Report:
    """A report as the action would write it for a dispatched workflow run of the fake (for one
    gate: the default one, or a configured gate's)."""
    inputs = run.inputs
    # The runner computes the key from its checkout of the base: the same key the App computes.
    base = run_fields.get("base_sha") or inputs.get("base_sha") or None
    fields: dict[str, Any] = {
        "governance_key": governance_key_at(run.repo, base, gate) if base else None,
        "gate": gate,
        "caller_version": CALLER_VERSION,
        "pr": int(inputs["pr"]),
        "head": inputs.get("head_sha") or None,
        "base_sha": inputs.get("base_sha") or None,
        "check_run_id": int(inputs["check_run_id"]) if inputs.get("check_run_id") else None,
        "workflow_run_id": run.id,
        "model": "claude-sonnet-4-5",
        "claude_code_version": "2.1.330",
        "turns": 4,
        "duration_ms": 42_000,
        "cost_usd": 0.12,
        "auth_mode": "subscription",
    }
    return report(*(findings or []), error=error, **{**fields, **run_fields})


def artifact(report: Report | dict[str, Any] | bytes) -> bytes:
    """Zip a report the way actions/upload-artifact stores it."""
    if isinstance(report, Report):
        body = report.model_dump_json().encode()
    elif isinstance(report, dict):
        body = json.dumps(report).encode()
    else:
        body = report
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(REPORT_FILENAME, body)
    return buffer.getvalue()


# The registration flow, walked as a browser would.


def form_value(html: str, name: str) -> str:
    match = re.search(rf"name='{name}' value='([^']*)'", html)
    assert match, f"no {name} field"
    return unescape(match.group(1))


async def register(
    http: aiohttp.ClientSession, base: str, organization: str = "", token: str = ADMIN_TOKEN
) -> tuple[str, dict[str, str]]:
    """Walk the flow as a browser would, up to GitHub's redirect back; return it and its query.

    The App's own pages need the admin token; GitHub's redirect back (the callback) carries none.
    """
    admin = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{base}/setup", headers=admin) as page:
        assert page.status == 200
        manifest = form_value(await page.text(), "manifest")
    form = {"manifest": manifest, "organization": organization}
    async with http.post(
        f"{base}/setup/register", data=form, headers=admin, allow_redirects=False
    ) as answer:
        assert answer.status == 307
        target = answer.headers["Location"]
    # A 307 keeps the method and the body: the browser POSTs the manifest form to GitHub.
    async with http.post(target, data=form) as github_page:
        assert github_page.status == 200, await github_page.text()
        action = re.search(r"action='([^']+)'", await github_page.text())
        assert action
    async with http.post(action.group(1), allow_redirects=False) as created:
        assert created.status == 302
        back = created.headers["Location"]
    return back, {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
