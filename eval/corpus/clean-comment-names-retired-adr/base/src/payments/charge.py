"""Charge a tokenised card."""

from __future__ import annotations

import logging

from payments.vault import Token
from payments.gateway import Gateway

log = logging.getLogger(__name__)


def charge(gateway: Gateway, token: Token, amount_cents: int) -> str:
    """Charge `amount_cents` to the card behind `token`; return the gateway's charge id."""
    result = gateway.charge(token=token.value, amount=amount_cents)
    log.info("charge.created token=%s amount=%d id=%s", token.value, amount_cents, result.id)
    return result.id
