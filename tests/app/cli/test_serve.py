"""`canon-gate serve` as a real process: start-up message, and a graceful SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path

import aiohttp
import pytest
from appkit import ROOT, WEBHOOK_SECRET, free_port
from fakes.github import FakeGitHub
from fakes.github.state import Repo


def serve_env(fake: FakeGitHub | None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("GITHUB_", "PUBLIC_URL", "PORT", "REDELIVER", "CANON_GATE_", "METRICS")
        )
    }
    env.update(PYTHONPATH=str(ROOT), LOG_FORMAT="json", REDELIVER_INTERVAL_SECONDS="0")
    if fake is not None:
        env.update(
            GITHUB_APP_ID=str(fake.app_id),
            GITHUB_APP_PRIVATE_KEY=fake.private_key,
            GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET,
            GITHUB_API_URL=fake.base_url,
            GITHUB_WEB_URL=fake.web_url,
        )
    env.update(extra)
    return env


async def start(env: dict[str, str], port: int, tmp_path: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--env-file", str(tmp_path / ".env"),
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return process
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    process.kill()
    _, err = await process.communicate()
    pytest.fail(f"canon-gate serve did not start:\n{err.decode()}")


def events(stderr: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]


async def test_without_credentials_serve_says_it_is_in_setup_mode(tmp_path: Path) -> None:
    port = free_port()
    process = await start(serve_env(None), port, tmp_path)
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    [setup] = [e for e in events(err) if e["event"] == "serve.setup_mode"]
    assert "GITHUB_APP_ID" in str(setup["missing"])
    assert "GITHUB_WEBHOOK_SECRET" in str(setup["missing"])
    assert str(setup["open"]).endswith("/setup")


async def test_sigterm_finishes_the_delivery_in_flight_and_exits_0(
    fake_github: FakeGitHub, repo: Repo, tmp_path: Path
) -> None:
    port = free_port()
    process = await start(serve_env(fake_github), port, tmp_path)
    fake_github.webhook_url = f"http://127.0.0.1:{port}/webhooks"
    fake_github.webhook_secret = WEBHOOK_SECRET
    fake_github.latency = 0.4  # every GitHub call is slow: the delivery takes ~2 s
    pull = repo.open_pull(12, {"docs/guide.md": "# Guide\n"})
    payload = fake_github.payloads.pull_request(repo, pull, "opened")
    delivery = asyncio.create_task(fake_github.deliver("pull_request", payload))
    await asyncio.sleep(0.6)
    assert fake_github.calls, "the delivery should be in flight"
    assert not delivery.done()

    process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.2)
    # No new connections once it is stopping ...
    with pytest.raises(aiohttp.ClientError):
        async with aiohttp.ClientSession() as http:
            await http.get(f"http://127.0.0.1:{port}/healthz")
    # ... but the delivery in flight is finished and answered.
    assert await delivery == 200
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()
    [check] = [c for c in repo.check_runs.values() if c.name == "canon-gate"]
    assert check.status == "in_progress"
    names = [e["event"] for e in events(err)]
    assert "serve.app_mode" in names
    assert "serve.stopped" in names
    # ... on uvloop, which the `app` extra installs wherever it builds.
    [loop] = [e for e in events(err) if e["event"] == "serve.loop"]
    assert loop["loop"] == ("asyncio" if sys.platform == "win32" else "uvloop")
    assert fake_github.private_key.splitlines()[1] not in err.decode()
    assert WEBHOOK_SECRET not in err.decode()


async def page_status(port: int, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/setup", headers=headers) as answer,
    ):
        return answer.status


async def stop(process: asyncio.subprocess.Process) -> bytes:
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0, err.decode()
    return err


async def test_the_first_start_makes_the_admin_token_shows_it_once_and_keeps_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = await start(serve_env(None), port, tmp_path)
    assert await page_status(port) == 401
    err = await stop(process)
    [shown] = [e for e in events(err) if e["event"] == "serve.admin_token_created"]
    address = str(shown["open"])
    assert address.startswith(f"http://localhost:{port}/?token=")
    token = address.split("?token=", 1)[1]
    assert len(token) >= 40
    # Shown on that one line only, and stored owner-only in the .env file.
    assert err.decode().count(token) == 1
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert f'CANON_GATE_ADMIN_TOKEN="{token}"' in env.read_text()

    # A restart keeps it and never shows it again.
    process = await start(serve_env(None), port, tmp_path)
    assert await page_status(port) == 401
    assert await page_status(port, token) == 200
    err = await stop(process)
    assert token not in err.decode()
    assert not [e for e in events(err) if e["event"] == "serve.admin_token_created"]


async def test_a_token_from_the_environment_is_used_and_never_shown(tmp_path: Path) -> None:
    port = free_port()
    token = "operator-chosen-token-0123456789"
    process = await start(serve_env(None, CANON_GATE_ADMIN_TOKEN=token), port, tmp_path)
    assert await page_status(port, token) == 200
    assert await page_status(port, "operator-chosen-token-012345678") == 401
    err = await stop(process)
    assert token not in err.decode()
    assert not (tmp_path / ".env").exists()
