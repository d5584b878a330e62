"""Idempotency keys for charge requests, kept in Redis for 24 hours."""

from __future__ import annotations

import redis

TTL_SECONDS = 24 * 60 * 60


def seen(client: redis.Redis, key: str) -> bool:
    """Record `key`; tell whether it was already recorded."""
    return not client.set(f"idem:{key}", 1, nx=True, ex=TTL_SECONDS)
