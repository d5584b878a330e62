"""`canon-gate serve` as a user runs it: the installed command, on a terminal and off one.

Issue 15: the first start said nothing useful for a person (one log line), and start-up mistakes
ended in tracebacks. On a terminal it now greets with where to open the setup page and what
PUBLIC_URL is for; off one it logs JSON only; a mistake is one line and exit status 2.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from appkit import free_port
from fakes.github.auth import generate_private_key_pem

# The command a user runs: the one installed next to this Python, as .venv/bin/canon-gate.
CANON_GATE = str(Path(sys.executable).parent / "canon-gate")


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The user's environment without any canon-gate or GitHub settings of the test runner."""
    drop = ("GITHUB_", "PUBLIC_URL", "PORT", "HOST", "REDELIVER", "CANON_GATE_", "LOG_", "WEBHOOK")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(REDELIVER_INTERVAL_SECONDS="0", HOME=str(tmp_path), **extra)
    return env


def refuse(tmp_path: Path, *args: str, **env: str) -> str:
    """Run a start that must fail; return its one line of stderr."""
    done = subprocess.run(
        [CANON_GATE, "serve", "--host", "127.0.0.1", *args],
        env=clean_env(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("canon-gate serve: ")
    assert done.stdout == ""
    return lines[0]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refuse(tmp_path, "--port", str(port))
    assert f"port {port} is already in use" in line
    assert "--port or PORT" in line


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ([], {"PORT": "abc"}, "PORT must be a whole number, not 'abc'"),
        ([], {"PORT": "70000"}, "PORT must be between 1 and 65535, not 70000"),
        ([], {"GITHUB_APP_ID": "one"}, "GITHUB_APP_ID must be a whole number, not 'one'"),
        ([], {"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG"),
        ([], {"WEBHOOK_PROXY_URL": "smee.io/abc"}, "WEBHOOK_PROXY_URL must be a channel's address"),
        (["--host", "no-such-host.invalid"], {}, "cannot listen on 'no-such-host.invalid'"),
    ],
    ids=["port-abc", "port-range", "app-id", "log-level", "proxy-url", "host"],
)
def test_a_setting_that_cannot_work_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], says: str
) -> None:
    assert says in refuse(tmp_path, *args, **env)


def test_an_unreadable_key_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "keys" / "app.pem"
    line = refuse(tmp_path, GITHUB_APP_ID="1", GITHUB_APP_PRIVATE_KEY_PATH=str(missing))
    assert line == (
        f"canon-gate serve: cannot read GITHUB_APP_PRIVATE_KEY_PATH {missing}: "
        "No such file or directory"
    )
    line = refuse(tmp_path, GITHUB_APP_ID="1", GITHUB_APP_PRIVATE_KEY_PATH=str(tmp_path))
    assert "cannot read GITHUB_APP_PRIVATE_KEY_PATH" in line


def test_a_key_that_cannot_sign_is_one_line_and_exit_2(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")
    line = refuse(
        tmp_path,
        GITHUB_APP_ID="1",
        GITHUB_WEBHOOK_SECRET="s",
        GITHUB_APP_PRIVATE_KEY_PATH=str(key),
    )
    assert f"the file GITHUB_APP_PRIVATE_KEY_PATH names ({key}) is not a PEM private key" in line
    assert "not a key" not in line  # never the key's text


async def read_until(fd: int, marker: bytes, timeout: float = 20.0, seen: bytes = b"") -> bytes:
    """Read a pseudo-terminal until `marker` shows up (in what was `seen` already, or after)."""
    deadline = time.monotonic() + timeout
    loop = asyncio.get_running_loop()
    while marker not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        try:
            chunk = await loop.run_in_executor(None, os.read, fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


async def healthy(port: int) -> None:
    """Wait for the server to answer (it is listening once the welcome is printed)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as health,
    ):
        assert health.status == 200


async def test_on_a_terminal_it_greets_with_where_to_go_and_what_public_url_is_for(
    tmp_path: Path,
) -> None:
    port = free_port()
    main, terminal = pty.openpty()
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        CANON_GATE, "serve", "--host", "127.0.0.1", "--port", str(port),
        env=clean_env(tmp_path), cwd=tmp_path, stdin=terminal, stdout=terminal, stderr=terminal,
    )  # fmt: skip
    os.close(terminal)
    try:
        welcome = await read_until(main, b"Ctrl-C stops the server.")
        greeted = time.monotonic() - started
        await healthy(port)
        seen = (await read_until(main, b"serve.setup_mode", seen=welcome)).decode()
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
        os.close(main)
    assert greeted < 10, f"the welcome took {greeted:.1f} s"
    assert "canon-gate is running in setup mode" in seen
    assert f"open http://localhost:{port}/setup" in seen
    token = (tmp_path / ".env").read_text().split('CANON_GATE_ADMIN_TOKEN="', 1)[1].split('"')[0]
    # The admin token is inside the address to open, once, on first start.
    assert seen.count(token) == 1
    assert f"http://localhost:{port}/?token={token}" in seen
    assert "PUBLIC_URL is the address GitHub sends webhooks to" in " ".join(seen.split())
    assert "WEBHOOK_PROXY_URL" in seen
    # Logs follow for a person to read, not JSON.
    assert '{"time"' not in seen
    assert "serve.setup_mode" in seen


async def test_off_a_terminal_it_logs_json_only(tmp_path: Path) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        CANON_GATE, "serve", "--host", "127.0.0.1", "--port", str(port),
        env=clean_env(tmp_path, PUBLIC_URL="https://gate.example.com"), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                    assert (answer.status, await answer.json()) == (
                        200,
                        {"status": "ok", "mode": "setup"},
                    )
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    assert out == b""
    lines = err.decode().splitlines()
    events = [json.loads(line)["event"] for line in lines]  # every line is JSON
    assert "serve.setup_mode" in events
    assert "serve.admin_token_created" in events
    assert "Ctrl-C" not in err.decode()


async def test_in_app_mode_the_welcome_names_the_status_page(tmp_path: Path) -> None:
    port = free_port()
    key = tmp_path / "app.pem"
    key.write_text(generate_private_key_pem())
    main, terminal = pty.openpty()
    env = clean_env(
        tmp_path,
        GITHUB_APP_ID="42",
        GITHUB_APP_SLUG="acme-gate",
        GITHUB_APP_PRIVATE_KEY_PATH=str(key),
        GITHUB_WEBHOOK_SECRET="s",
        GITHUB_API_URL=f"http://127.0.0.1:{free_port()}",  # no GitHub: the welcome needs none
        CANON_GATE_ADMIN_TOKEN="an-operator-chosen-token-0123456789",
        PUBLIC_URL="https://gate.example.com",
    )
    process = await asyncio.create_subprocess_exec(
        CANON_GATE, "serve", "--host", "127.0.0.1", "--port", str(port),
        env=env, cwd=tmp_path, stdin=terminal, stdout=terminal, stderr=terminal,
    )  # fmt: skip
    os.close(terminal)
    try:
        seen = (await read_until(main, b"Ctrl-C stops the server.")).decode()
        await healthy(port)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
        os.close(main)
    assert "canon-gate is running as GitHub App acme-gate (ID 42)." in seen
    assert "Status page:  https://gate.example.com/" in seen
    assert f"http://localhost:{port}/readyz" in seen
    assert "webhooks go to https://gate.example.com/webhooks" in " ".join(seen.split())
    assert "an-operator-chosen-token" not in seen
