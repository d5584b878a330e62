"""`canon-gate receive`: sign a saved webhook payload and POST it to a running App.

For local development without a webhook proxy: the App sees exactly what GitHub would send, and
its answer says what it did, or why it ignored or refused the delivery; this prints that.
Real payloads to start from are in tests/fixtures/webhooks/ of a canon-gate checkout.
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
from pydantic import ValidationError

from app.cli.preflight import explain_settings
from app.edge.settings import Settings
from app.edge.signature import sign

EXAMPLES = "tests/fixtures/webhooks/ in a canon-gate checkout (e.g. pull_request.opened.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--event", required=True, help="the event GitHub would name, e.g. pull_request"
    )
    parser.add_argument(
        "--payload",
        required=True,
        type=Path,
        help=f"a JSON file with the delivery's body; real ones: {EXAMPLES}",
    )
    parser.add_argument(
        "--url", help="where the App listens for webhooks (default: http://localhost:PORT/)"
    )
    parser.add_argument(
        "--secret",
        help="the App's webhook secret (default: GITHUB_WEBHOOK_SECRET, as the App reads it)",
    )
    parser.add_argument(
        "--env-file", type=Path, help="read GITHUB_WEBHOOK_SECRET and PORT from this .env file"
    )
    parser.add_argument(
        "--delivery-id", help="the delivery's id; repeat one to see the App skip it as a replay"
    )


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


def describe(status: int, text: str) -> list[str]:
    """The App's answer in lines: what it did or why not, and what its handlers noted."""
    try:
        answer = json.loads(text)
    except ValueError:
        return [text] if text else []
    if not isinstance(answer, dict):
        return [text]
    lines = [str(answer.get("message", text))]
    notes = answer.get("notes") or []
    for note in notes if isinstance(notes, list) else []:
        if isinstance(note, dict):
            fields = " ".join(f"{k}={v}" for k, v in note.items() if k != "event")
            lines.append(f"  {note.get('event', 'note')} {fields}".rstrip())
    if answer.get("outcome") == "ignored" or status == 422:
        lines.append(f"Payloads as GitHub sends them: {EXAMPLES}.")
    return lines


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.env_file is not None:
        overrides["_env_file"] = args.env_file
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        print(f"canon-gate receive: {explain_settings(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"canon-gate receive: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
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
        print(
            f"canon-gate receive: could not reach {url}: {exc} (is canon-gate serve running? "
            "--url names where it listens)",
            file=sys.stderr,
        )
        return 1
    print(f"{status} {args.event} delivery {delivery_id}")
    for line in describe(status, text):
        print(line)
    return 0 if 200 <= status < 300 else 1
