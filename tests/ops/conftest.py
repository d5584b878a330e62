"""Fixtures for the operations tests: the shared App fixtures, under the name these tests use."""

from __future__ import annotations

import pytest
from appkit import StartGate


@pytest.fixture
def serve(start_gate: StartGate) -> StartGate:
    """Start the App (call again to restart it: a fresh process state each time)."""
    return start_gate
