"""What became of a delivery, for the answer's body: what the handlers said, and whether they
touched GitHub at all.

While a delivery is handled, the flows' log records are collected as its notes (minus any field
named like a credential), so the reason an operator would find in the server's log is also in
the answer that GitHub's delivery log and `canon-gate receive` show. Every request on the App's
HTTP session is counted too: a handler that made none and said nothing found nothing to act on,
and the delivery is answered as ignored, with what it lacks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from app.edge.logs import context_of

# The handlers whose words become notes; the edge's own records say nothing new.
FLOWS_LOGGER = "app.flows"
MAX_NOTES = 10
MAX_NOTE_VALUE = 300
# Every delivery GitHub sends to an App carries these (ping aside).
ALWAYS_SENT = ("action", "installation", "repository")


@dataclass
class Tally:
    """One delivery's notes and the number of HTTP requests made while it was handled."""

    requests: int = 0
    notes: list[dict[str, Any]] = field(default_factory=list)


_TALLY: ContextVar[Tally | None] = ContextVar("canon_gate_delivery_tally", default=None)


class _Notes(logging.Handler):
    """Copy the flows' records into the tally of the delivery being handled, if any."""

    def emit(self, record: logging.LogRecord) -> None:
        tally = _TALLY.get()
        if tally is None or len(tally.notes) >= MAX_NOTES:
            return
        fields = {
            key: _short(value)
            for key, value in context_of(record).items()
            if key != "delivery_id"  # the answer is about that delivery already
        }
        tally.notes.append({"event": record.getMessage(), **fields})


def _short(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = str(value)
    return text if len(text) <= MAX_NOTE_VALUE else text[: MAX_NOTE_VALUE - 1] + "…"


_HANDLER = _Notes(level=logging.INFO)


def install() -> None:
    """Collect the flows' records (once per process; records outside a delivery are skipped)."""
    logger = logging.getLogger(FLOWS_LOGGER)
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)


async def count_requests(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Count the requests made on behalf of the delivery being handled (a client middleware).

    A middleware rather than a `TraceConfig`: tracing builds and sends a dozen signals for every
    request, a fifth of what the request itself costs.
    """
    tally = _TALLY.get()
    if tally is not None:
        tally.requests += 1
    return await handler(request)


class collecting:  # lower case, as contextlib's own classes (`suppress`, `closing`) are
    """Collect into `tally` the notes and requests of the delivery handled inside the block.

    A class rather than `@contextmanager`: it is entered once per delivery, and a generator and
    its wrapper cost more.
    """

    def __init__(self, tally: Tally) -> None:
        self._tally = tally
        self._token: Token[Tally | None] | None = None

    def __enter__(self) -> Tally:
        self._token = _TALLY.set(self._tally)
        return self._tally

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _TALLY.reset(self._token)


def not_acted_on(event: str, action: str | None) -> str:
    """No handler is registered for this event (and action)."""
    what = f"{event} `{action}`" if action else event
    return f"ignored: canon-gate does not act on {what} deliveries"


def nothing_to_do(event: str, data: Mapping[str, Any]) -> str:
    """Handlers ran, but found nothing to act on and said nothing: say what the payload lacks."""
    lacking = [name for name in ALWAYS_SENT if data.get(name) is None]
    message = f"ignored: canon-gate found nothing to act on in this {event} delivery"
    if lacking:
        quoted = [f"`{name}`" for name in lacking]
        names = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        return f"{message}: it has no {names}, which GitHub sends with every {event} delivery"
    action = data.get("action")
    return f"{message} (action `{action}`)" if action else message
