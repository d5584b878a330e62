"""The fake as webhook sender: sign, POST to the App, and keep GitHub's delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from .server import FakeGitHub


def sign(body: bytes, secret: str) -> str:
    """Return the X-Hub-Signature-256 header value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    id: int
    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    delivered_at: str
    redelivery: bool
    status_code: int
    status: str
    duration: float
    request_headers: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": self.delivered_at,
            "redelivery": self.redelivery,
            "duration": self.duration,
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": self.installation_id,
            "repository_id": self.repository_id,
            "throttled_at": None,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "url": "",
            "request": {"headers": self.request_headers, "payload": self.payload},
            "response": {"headers": self.response_headers, "payload": self.response_body},
        }


async def send(
    fake: FakeGitHub,
    event: str,
    payload: dict[str, Any],
    *,
    guid: str | None = None,
    redelivery: bool = False,
) -> int:
    """Deliver one webhook and log it; return the App's status code (0 when unreachable)."""
    if fake.webhook_url is None or fake.webhook_secret is None:
        raise RuntimeError("set fake.webhook_url and fake.webhook_secret before delivering")
    body = json.dumps(payload).encode()
    guid = guid or str(uuid.uuid4())
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(fake.app_id),
        "X-Hub-Signature-256": sign(body, fake.webhook_secret),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
    }
    started = time.monotonic()
    status_code, text, response_headers = 0, "", {}
    session = fake.session or aiohttp.ClientSession()
    try:
        # GitHub gives up after 10 s; so does the fake.
        timeout = aiohttp.ClientTimeout(total=10)
        async with session.post(fake.webhook_url, data=body, headers=headers, timeout=timeout) as r:
            status_code, text, response_headers = r.status, await r.text(), dict(r.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        text = f"{type(exc).__name__}: {exc}"
    finally:
        if session is not fake.session:
            await session.close()
    if 200 <= status_code < 300:
        status = "OK"
    elif status_code == 0:
        status = "failed to connect to host"
    else:
        status = f"Invalid HTTP Response: {status_code}"
    installation = payload.get("installation") or {}
    repository = payload.get("repository") or {}
    fake.deliveries.append(
        Delivery(
            id=len(fake.deliveries) + 1,
            guid=guid,
            event=event,
            action=payload.get("action"),
            installation_id=installation.get("id"),
            repository_id=repository.get("id"),
            delivered_at=fake.clock.iso(),
            redelivery=redelivery,
            status_code=status_code,
            status=status,
            duration=round(time.monotonic() - started, 3),
            request_headers=headers,
            payload=payload,
            response_headers=response_headers,
            response_body=text[:2048],
        )
    )
    return status_code
