"""Retry a failed delivery, as D0031 (ams://canon/decisions/D0031-relay-retries) fixes it."""

from __future__ import annotations

# Two retries: the third almost never succeeds (see the May dashboards).
MAX_RETRIES = 2
BASE_DELAY_SECONDS = 1.0


def delays() -> list[float]:
    """Seconds to wait before each retry: exponential backoff from one second."""
    return [BASE_DELAY_SECONDS * 2**n for n in range(MAX_RETRIES)]


def should_dead_letter(attempts: int) -> bool:
    """After the last retry the message goes to the dead-letter queue (D0032)."""
    return attempts > MAX_RETRIES
