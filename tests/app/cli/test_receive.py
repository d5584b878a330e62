"""`canon-gate receive` against a live App: signs like GitHub, prints the answer, exits by it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from appkit import WEBHOOK_SECRET, StartGate, free_port
from fakes.github import FakeGitHub
from fakes.github.state import Repo

from app.cli.main import main
from app.setup.envfile import quote


async def receive(*args: str) -> int:
    # `receive` runs its own event loop, as the command does: keep it off the test's loop.
    return await asyncio.to_thread(main, ["receive", *args])


def test_the_signature_matches_githubs_published_example() -> None:
    from app.edge.signature import sign, signature_matches

    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == f"sha256={expected}"
    assert signature_matches(b"Hello, World!", f"sha256={expected}", "It's a Secret to Everybody")


async def test_receive_posts_a_signed_payload_the_app_handles(
    fake_github: FakeGitHub,
    start_gate: StartGate,
    repo: Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = await start_gate()
    pull = repo.open_pull(12, {"docs/guide.md": "# Guide\n"})
    payload = tmp_path / "pr.json"
    payload.write_text(json.dumps(fake_github.payloads.pull_request(repo, pull, "opened")))
    code = await receive(
        "--event", "pull_request", "--payload", str(payload),
        "--url", app.url("/webhooks"), "--secret", WEBHOOK_SECRET, "--delivery-id", "local-1",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("200 pull_request delivery local-1")
    assert out.splitlines()[1] == "handled"
    [check] = [c for c in repo.check_runs.values() if c.name == "canon-gate"]
    assert check.head_sha == pull.head_sha


async def test_receive_reads_the_secret_from_the_env_file_and_fails_on_non_2xx(
    start_gate: StartGate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await start_gate()
    payload = tmp_path / "ping.json"
    payload.write_text('{"zen": "Practicality beats purity."}')
    env = tmp_path / "dev.env"
    env.write_text(f"GITHUB_WEBHOOK_SECRET={quote(WEBHOOK_SECRET)}\n")
    args = ["--event", "ping", "--payload", str(payload), "--url", app.url("/")]
    assert await receive(*args, "--env-file", str(env)) == 0
    assert "pong" in capsys.readouterr().out

    assert await receive(*args, "--secret", "wrong") == 1
    assert "401" in capsys.readouterr().out


async def test_receive_says_what_went_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert await receive("--event", "ping", "--payload", str(bad), "--secret", "s") == 2
    assert "cannot use" in capsys.readouterr().err
    good = tmp_path / "ok.json"
    good.write_text("{}")
    url = f"http://127.0.0.1:{free_port()}/webhooks"
    assert (
        await receive("--event", "ping", "--payload", str(good), "--secret", "s", "--url", url) == 1
    )
    assert "could not reach" in capsys.readouterr().err
