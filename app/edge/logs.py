"""Logging set-up: JSON lines for machines, short key=value lines for people at a terminal.

The message of every record is a fixed event name (`webhook.handled`); context comes from
`extra=` and becomes keys. Fields whose names look like credentials are dropped, whatever a
caller passes, so a secret cannot reach a log line by accident.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import time
from datetime import datetime
from typing import IO, Any

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
_SECRET_WORDS = ("secret", "token", "password", "private_key", "pem", "authorization", "jwt")
_ENCODER = json.JSONEncoder(default=str)


@functools.lru_cache(maxsize=1024)  # field names are the code's own, so few
def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


@functools.lru_cache(maxsize=1024)
def _is_context(key: str) -> bool:
    return key not in _STANDARD and not key.startswith("_") and not is_secret_field(key)


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra=` fields, minus anything that looks like a credential."""
    return {key: value for key, value in record.__dict__.items() if _is_context(key)}


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def utc_iso_ms(created: float) -> str:
    """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, done cheaply.

    Rounded to the microsecond half to even, as `datetime` rounds, then cut to milliseconds.
    """
    fraction, whole = math.modf(created)
    micros = round(fraction * 1e6)
    second = int(whole)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    if micros < 0:  # before 1970: the fraction is negative
        second, micros = second - 1, micros + 1_000_000
    return f"{_utc_second(second)}.{micros // 1000:03d}+00:00"


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, then the context fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": utc_iso_ms(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **context_of(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


class TextFormatter(logging.Formatter):
    """`12:00:01 INFO  webhook.handled delivery_id=... event=pull_request`."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        fields = " ".join(f"{k}={_text(v)}" for k, v in context_of(record).items())
        line = f"{when} {record.levelname:<5} {record.getMessage()}"
        line = f"{line} {fields}" if fields else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c in text for c in ' ="\n') else text


def configure(fmt: str = "auto", level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Send all logs to `stream` (stderr): JSON unless `fmt` is text, or auto on a TTY."""
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # What no formatter here reads is not gathered for every record (the logging HOWTO's
    # "Optimization"): the caller's frame, thread, process and multiprocessing names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiohttp's access log repeats what webhook.handled already says, in its own format.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
