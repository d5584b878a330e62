"""Which ledger files the App trusts: sealed by it, for this repository and PR, not from the future.

Pure: `seal_record` writes a record with its seal; `read_record` reads one back and either trusts
it or says why not. A rejected record never counts (no waiver, no previous audit), and the
verdict says that records were rejected, so tampering is never silent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from app.ledger.records import Record, parse_record, record_path
from app.ledger.seal import SEAL_FIELD, Seal

# Clocks differ a little between the App's replicas; more than this ahead is a forged date.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Rejected:
    """A ledger file the App does not trust, and why."""

    path: str
    reason: str


def seal_record(record: Record, seal: Seal) -> str:
    """The record's file content: its JSON with the App's seal."""
    data = json.loads(record.model_dump_json())
    data[SEAL_FIELD] = seal.of(data)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def read_record(
    path: str, text: str, seal: Seal, *, repo: str, pr: int, now: datetime
) -> Record | Rejected:
    """Trust a ledger file only if the App sealed it, for this repository and PR, in the past.

    It must also sit at its own path, whose name begins with its time: the history is read
    newest first by name, so a sealed record copied under another name must not count.
    """
    try:
        data = json.loads(text)
    except ValueError:
        return Rejected(path, "not JSON")
    if not isinstance(data, dict) or not seal.verifies(data):
        return Rejected(path, "not sealed by this App")
    try:
        record = parse_record(text)
    except (ValidationError, ValueError):
        return Rejected(path, "not a ledger record")
    if record.repo != repo or record.pr != pr:
        return Rejected(path, f"a record of {record.repo} PR #{record.pr}, not of this PR")
    if record.recorded_at > now + CLOCK_SKEW:
        return Rejected(path, f"dated in the future ({record.recorded_at.isoformat()})")
    if path != record_path(record):
        return Rejected(path, f"a record of {record_path(record)}, copied here")
    return record
