"""Forward a received message to its inbox."""

from __future__ import annotations

from relay.clock import now
from relay.model import Envelope, Inbox, Message

RELAY_ID = "relay-eu-1"


def forward(message: Message, inbox: Inbox) -> None:
    """Wrap the message in an envelope and hand it to the inbox, unchanged."""
    envelope = Envelope(message=message, received_at=now(), relay=RELAY_ID)
    inbox.put(envelope)
