"""Helpers for the operations tests: settings for the App under test, ports, the served App."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from fakes.github import FakeGitHub

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "ops-webhook-secret"
INSTALLATION_ID = 7001
REPO_ID = 8001


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(fake: FakeGitHub, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings that never read a stray .env; App mode unless credentials are overridden."""
    values: dict[str, Any] = {
        "github_app_id": fake.app_id,
        "github_app_private_key": fake.private_key,
        "github_webhook_secret": WEBHOOK_SECRET,
        "github_api_url": fake.base_url,
        "github_web_url": fake.web_url,
        "env_file": tmp_path / ".env",
        "redeliver_interval_seconds": 0,
        "log_format": "json",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class Served:
    server: TestServer
    settings: Settings

    def url(self, path: str = "/") -> str:
        return str(self.server.make_url(path))


Serve = Callable[..., Awaitable[Served]]
