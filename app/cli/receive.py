"""`canon-gate receive`: sign a saved webhook payload and POST it to a running App.

For local development without a webhook proxy: the App sees exactly what GitHub would send.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from app.edge.settings import Settings
from app.edge.signature import sign


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--event", required=True, help="the X-GitHub-Event, e.g. pull_request")
    parser.add_argument("--payload", required=True, type=Path, help="a JSON payload file")
    parser.add_argument("--url", help="the App's webhook URL (default: http://localhost:PORT/)")
    parser.add_argument(
        "--secret", help="the webhook secret (default: GITHUB_WEBHOOK_SECRET from settings)"
    )
    parser.add_argument("--env-file", type=Path, help="read settings from this .env file")
    parser.add_argument("--delivery-id", help="the X-GitHub-Delivery GUID (default: a new one)")


def delivery_headers(event: str, body: bytes, secret: str, delivery_id: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
        "User-Agent": "canon-gate-receive",
    }


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=headers) as answer,
    ):
        return answer.status, await answer.text()


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.env_file is not None:
        overrides["_env_file"] = args.env_file
    settings = Settings(**overrides)
    secret = args.secret
    if secret is None and settings.github_webhook_secret is not None:
        secret = settings.github_webhook_secret.get_secret_value()
    if not secret:
        print(
            "canon-gate receive: no webhook secret: pass --secret or set GITHUB_WEBHOOK_SECRET",
            file=sys.stderr,
        )
        return 2
    try:
        body = args.payload.read_bytes()
        json.loads(body)
    except (OSError, ValueError) as exc:
        print(f"canon-gate receive: cannot use {args.payload}: {exc}", file=sys.stderr)
        return 2
    url = args.url or f"http://localhost:{settings.port}/"
    delivery_id = args.delivery_id or str(uuid.uuid4())
    headers = delivery_headers(args.event, body, secret, delivery_id)
    try:
        status, text = asyncio.run(post(url, body, headers))
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"canon-gate receive: could not reach {url}: {exc}", file=sys.stderr)
        return 1
    print(f"{status} {args.event} delivery {delivery_id}")
    print(text)
    return 0 if 200 <= status < 300 else 1
