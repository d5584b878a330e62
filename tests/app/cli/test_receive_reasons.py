"""`canon-gate receive` as a user runs it: the App answers why, and receive prints it.

Issue 15: receive showed `422 {"message": "payload cannot be acted on"}` while the reason was
only in the server's log, and `{"foo": 1}` sent as pull_request answered `200 handled`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import pytest
from appkit import ROOT, WEBHOOK_SECRET, Gate, StartGate
from fakes.github import FakeGitHub
from fakes.github.state import Repo

CANON_GATE = str(Path(sys.executable).parent / "canon-gate")
EXAMPLES = ROOT / "tests" / "fixtures" / "webhooks"


async def receive(gate: Gate, event: str, payload: Path, *extra: str) -> tuple[int, str, str]:
    """Run the installed command against the App; return its exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        CANON_GATE, "receive", "--event", event, "--payload", str(payload),
        "--url", gate.url("/webhooks"), *extra,
        env={"PATH": "/usr/bin:/bin", "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def saved(tmp_path: Path, payload: object, name: str = "payload.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(payload))
    return path


async def test_a_payload_with_nothing_to_act_on_is_ignored_and_says_why(
    gate: Gate, tmp_path: Path
) -> None:
    code, out, _ = await receive(gate, "pull_request", saved(tmp_path, {"foo": 1}))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("200 pull_request delivery ")
    assert lines[1] == (
        "ignored: canon-gate found nothing to act on in this pull_request delivery: it has no "
        "`action`, `installation` or `repository`, which GitHub sends with every pull_request "
        "delivery"
    )
    assert "tests/fixtures/webhooks/" in lines[2]
    assert "handled" not in out
    assert gate.fake.calls == []


async def test_an_unusable_payload_names_the_field_in_the_answer(
    gate: Gate, tmp_path: Path
) -> None:
    # GitHub's own example lacks `installation`, which every delivery to an App carries.
    code, out, _ = await receive(gate, "pull_request", EXAMPLES / "pull_request.opened.json")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("422 pull_request delivery ")
    assert lines[1] == "payload cannot be acted on: `installation`: Field required"
    assert "tests/fixtures/webhooks/" in out


async def test_an_event_canon_gate_does_not_act_on_is_ignored_by_name(
    gate: Gate, tmp_path: Path
) -> None:
    code, out, _ = await receive(gate, "check_run", EXAMPLES / "check_run.created.json")
    assert code == 0
    assert (
        out.splitlines()[1] == "ignored: canon-gate does not act on check_run `created` deliveries"
    )


async def test_a_handled_delivery_shows_what_the_handlers_decided(
    fake_github: FakeGitHub,
    start_gate: StartGate,
    repo: Repo,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="app.flows")
    gate = await start_gate()
    pull = repo.open_pull(12, {"docs/guide.md": "# Guide\n"})
    payload = saved(tmp_path, fake_github.payloads.pull_request(repo, pull, "opened"))
    code, out, _ = await receive(gate, "pull_request", payload, "--delivery-id", "local-1")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == ["200 pull_request delivery local-1", "handled"]
    [dispatched] = [line for line in lines if line.startswith("  audit.dispatched ")]
    assert "repo=octo-org/handbook" in dispatched
    assert "pr=12" in dispatched

    draft = repo.open_pull(13, {"docs/other.md": "# Other\n"}, draft=True)
    payload = saved(tmp_path, fake_github.payloads.pull_request(repo, draft, "opened"))
    code, out, _ = await receive(gate, "pull_request", payload)
    assert code == 0
    assert "  audit.draft_skipped pr=13" in out.splitlines()


async def test_a_refused_signature_says_so_and_never_prints_a_secret(
    gate: Gate, tmp_path: Path
) -> None:
    payload = saved(tmp_path, {"zen": "Keep it logically awesome."})
    code, out, _ = await receive(gate, "ping", payload, "--secret", "not-the-secret")
    assert code == 1
    assert out.splitlines()[1] == "X-Hub-Signature-256 does not match the webhook secret"
    assert WEBHOOK_SECRET not in out
    assert "not-the-secret" not in out
