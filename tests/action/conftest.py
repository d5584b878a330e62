"""Fixtures for the data-plane tests (helpers live in `support.py`)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The repository root, so `action` and `tests.fakes` import however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.action.support import (
    API_KEY,
    GITHUB_TOKEN,
    RUNTIME_TOKEN,
    make_checkouts,
)
from tests.fakes.anthropic import FakeAnthropic


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
