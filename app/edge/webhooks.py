"""The webhook edge: verify, parse, dispatch to every handler, and answer by the outcome.

The signature is checked before anything else is read. A delivery id is remembered only once its
delivery was fully handled, so a redelivery of one that failed is handled again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiohttp import web
from gidgethub import BadRequest, sansio
from pydantic import ValidationError

from app.edge import metrics
from app.edge.context import Context
from app.edge.errors import is_transient
from app.edge.outcome import Tally, collecting, not_acted_on, nothing_to_do
from app.edge.runtime import RUNTIME
from app.edge.signature import signature_matches
from app.events import Envelope

log = logging.getLogger(__name__)

# https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024
# GitHub's payloads nest a few levels (its examples at most 8). Anything far deeper is not from
# GitHub, and recursive code (the JSON decoder, pydantic, our logs) must never be handed it.
MAX_DEPTH = 64

Handler = Callable[..., Awaitable[Any]]


async def dispatch_all(handlers: Collection[Handler], event: sansio.Event, ctx: Context) -> int:
    """Run every handler (`Router.fetch(event)`), even when one fails; then raise the worst failure.

    gidgethub's `Router.dispatch` stops at the first handler that raises, which would silently
    skip the rest. Returns how many handlers ran.
    """
    failures: list[BaseException] = []
    for handler in handlers:
        try:
            await handler(event, ctx)
        except Exception as exc:
            failures.append(exc)
    if failures:
        transient = [exc for exc in failures if is_transient(exc)]
        raise (transient or failures)[0]
    return len(handlers)


def _answer(status: int, message: str, **fields: Any) -> web.Response:
    return web.json_response({"message": message, **fields}, status=status)


def _unusable(exc: ValidationError) -> web.Response:
    """422: a payload of the wrong shape; a replay would fail the same way, so no 5xx."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    message = f"payload cannot be acted on: `{where}`: {first['msg']}"
    return _answer(422, message, errors=exc.error_count())


def _too_deep() -> web.Response:
    return _answer(
        422, f"the body nests deeper than {MAX_DEPTH} levels; GitHub's payloads never do"
    )


def _depth_exceeds(data: object, limit: int) -> bool:
    """Whether JSON data nests deeper than `limit`, found without recursion.

    Only containers are carried from one level to the next, and `json.loads` makes exact dicts
    and lists, so exact type checks suffice.
    """
    level: list[Any] = [data] if type(data) is dict or type(data) is list else []
    for _ in range(limit):
        deeper: list[Any] = []
        push = deeper.append
        for value in level:
            for child in value.values() if type(value) is dict else value:
                if type(child) is dict or type(child) is list:
                    push(child)
        if not deeper:
            return False
        level = deeper
    return bool(level)


async def handle_delivery(request: web.Request) -> web.Response:
    """Handle one delivery and answer after the work is done."""
    runtime = request.app[RUNTIME]
    if runtime.github_app is None or runtime.settings.github_webhook_secret is None:
        return _answer(503, "canon-gate is in setup mode: open /setup to register the App")
    if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
        return _answer(413, "payload over GitHub's 25 MB cap")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _answer(413, "payload over GitHub's 25 MB cap")
    signature = request.headers.get("X-Hub-Signature-256")
    secret = runtime.settings.github_webhook_secret.get_secret_value()
    if not signature:
        log.warning("webhook.unsigned", extra={"remote": request.remote})
        return _answer(401, "missing X-Hub-Signature-256: deliveries must be signed")
    if not signature_matches(body, signature, secret):
        log.warning("webhook.bad_signature", extra={"remote": request.remote})
        return _answer(401, "X-Hub-Signature-256 does not match the webhook secret")

    event_name = request.headers.get("X-GitHub-Event")
    delivery_id = request.headers.get("X-GitHub-Delivery")
    if not event_name or not delivery_id:
        return _answer(400, "missing X-GitHub-Event or X-GitHub-Delivery header")
    if request.content_type != "application/json":
        return _answer(415, "expected Content-Type application/json; set it on the webhook")
    try:
        data = json.loads(body)
    except RecursionError:
        return _too_deep()
    except ValueError:
        return _answer(415, "the body is not JSON")
    if not isinstance(data, dict):
        return _answer(415, "the body is not a JSON object")
    if _depth_exceeds(data, MAX_DEPTH):
        return _too_deep()
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        log.warning(
            "webhook.unusable_payload",
            extra={"delivery_id": delivery_id, "event": event_name, "error": str(exc)[:500]},
        )
        return _unusable(exc)

    fields = {
        "delivery_id": delivery_id,
        "event": event_name,
        "action": envelope.action,
        "installation_id": envelope.installation.id if envelope.installation else None,
        "repo": envelope.repository.full_name if envelope.repository else None,
    }
    if event_name == "ping":
        metrics.DELIVERIES.labels(event=event_name, outcome="ok").inc()
        return _answer(200, "pong")
    if delivery_id in runtime.handled:
        metrics.DELIVERIES.labels(event=event_name, outcome="duplicate").inc()
        return _answer(200, "already handled")

    started = time.perf_counter()
    event = sansio.Event(data, event=event_name, delivery_id=delivery_id)
    handlers = runtime.router.fetch(event)
    if not handlers:
        # Most of what GitHub sends an App is answered here, without a context or a deadline.
        runtime.handled.add(delivery_id)
        log.info("webhook.handled", extra={**fields, "handlers": 0, "outcome": "ignored"})
        return _finish(
            event_name,
            "ignored",
            started,
            _answer(200, not_acted_on(event_name, envelope.action), outcome="ignored"),
        )
    loop = asyncio.get_running_loop()
    budget = runtime.settings.delivery_budget_seconds
    ctx = Context(
        github_app=runtime.github_app,
        settings=runtime.settings,
        http=runtime.http,
        delivery_id=delivery_id,
        deadline=loop.time() + budget,
        governs=runtime.governs,
    )
    # The answer carries the handlers' notes: the reasons the log has, never a secret.
    tally = Tally()
    outcome = "ok"
    try:
        async with asyncio.timeout(budget):
            with collecting(tally):
                ran = await dispatch_all(handlers, event, ctx)
        runtime.handled.add(delivery_id)
        if tally.requests or tally.notes:
            response = _answer(200, "handled", outcome="handled", notes=tally.notes)
        else:
            message = nothing_to_do(event_name, data)
            outcome, response = "ignored", _answer(200, message, outcome="ignored")
    except ValidationError as exc:
        outcome = "unusable"
        log.warning("webhook.unusable_payload", extra={**fields, "error": str(exc)[:500]})
        runtime.handled.add(delivery_id)
        response = _unusable(exc)
    except Exception as exc:
        if not is_transient(exc) and isinstance(exc, BadRequest):
            # The installation or repository is gone, or a 4xx we caused: a replay would fail
            # the same way, so say why and let it rest.
            outcome = "gone"
            log.warning("webhook.permanent_failure", extra={**fields, "error": str(exc)[:300]})
            runtime.handled.add(delivery_id)
            message = (
                f"not actionable: GitHub answered {int(exc.status_code)} ({exc}); "
                "a redelivery would fail the same way"
            )
            response = _answer(200, message, outcome="not_actionable", notes=tally.notes)
        else:
            # Transient, or our own crash: 5xx so the delivery can be redelivered.
            outcome = "retry"
            log.exception("webhook.failed", extra={**fields, "error_type": type(exc).__name__})
            response = _answer(
                503,
                "handling failed; redeliver this delivery",
                outcome="retry",
                error=type(exc).__name__,
                notes=tally.notes,
            )
    else:
        log.info("webhook.handled", extra={**fields, "handlers": ran, "outcome": outcome})
    return _finish(event_name, outcome, started, response)


def _finish(event: str, outcome: str, started: float, response: web.Response) -> web.Response:
    metrics.labelled(metrics.DELIVERIES, event, outcome).inc()
    metrics.labelled(metrics.DELIVERY_LATENCY, event).observe(time.perf_counter() - started)
    return response
