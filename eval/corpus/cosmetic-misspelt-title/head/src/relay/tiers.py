"""The delivery tiers the relay offers (glossary: ams://canon/glossary/delivery-tier)."""

from __future__ import annotations

from datetime import timedelta

BUDGETS = {
    "immediate": timedelta(seconds=2),
    "standard": timedelta(minutes=5),
    "deferred": timedelta(hours=24),
}
