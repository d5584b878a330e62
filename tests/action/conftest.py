"""Fixtures for the data-plane tests (helpers live in `support.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.anthropic import FakeAnthropic

from tests.action.support import (
    API_KEY,
    GITHUB_TOKEN,
    RUNTIME_TOKEN,
    make_checkouts,
)


@pytest.fixture
def checkouts(tmp_path: Path) -> tuple[Path, Path]:
    return make_checkouts(tmp_path)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


@pytest.fixture(autouse=True)
def secrets_in_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the runner's secrets in this process's real environment, which the SDK merges."""
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("ACTIONS_RUNTIME_TOKEN", RUNTIME_TOKEN)
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
