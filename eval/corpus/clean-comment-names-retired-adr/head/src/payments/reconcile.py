"""Reconcile one settlement event against the ledger (ADR-0004)."""

from __future__ import annotations

from payments.ledger import Ledger
from payments.settlement import SettlementEvent

# There is no batch mode: the nightly job of ADR-0003 was switched off by ADR-0004.


def reconcile(ledger: Ledger, event: SettlementEvent) -> bool:
    """Tell whether the ledger agrees with one settlement event."""
    entry = ledger.entry(event.payout_id)
    return entry is not None and entry.amount_cents == event.amount_cents
