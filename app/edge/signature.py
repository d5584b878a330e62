"""The webhook signature: `X-Hub-Signature-256`, an HMAC-SHA256 of the raw body.

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` header GitHub sends with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str, secret: str) -> bool:
    """Check `X-Hub-Signature-256` in constant time."""
    return hmac.compare_digest(sign(body, secret).encode(), header.encode())
