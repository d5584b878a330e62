"""The ledger's seal: an HMAC that proves a record was written by this App, record by record.

Anyone with write access can push to the ledger branch, and a commit's author and committer can
claim to be the App's bot, so neither the branch nor a commit proves who wrote a file. Each record
is sealed instead, with a key only the App holds: by default derived from its private key, or
`LEDGER_SIGNING_KEY` so that rotating the private key keeps the ledger readable. A record whose
seal does not verify is rejected, visibly, and never counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

_DERIVATION = b"canon-gate ledger seal v1"
SEAL_FIELD = "seal"


class Seal:
    """Seal and verify ledger records with one key."""

    def __init__(self, secret: str) -> None:
        # A key of its own, derived from the secret: a ledger seal is never a usable App credential.
        self._key = hmac.new(secret.encode(), _DERIVATION, hashlib.sha256).digest()

    def __repr__(self) -> str:  # the key never reaches a log line through repr()
        return "Seal(...)"

    def of(self, data: dict[str, Any]) -> str:
        """The seal of a record's JSON object, whatever its key order (the seal field excluded)."""
        body = {k: v for k, v in data.items() if k != SEAL_FIELD}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()

    def verifies(self, data: dict[str, Any]) -> bool:
        given = data.get(SEAL_FIELD)
        return isinstance(given, str) and hmac.compare_digest(given, self.of(data))
