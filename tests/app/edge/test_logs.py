"""Log lines: fixed event names, context as keys, JSON off a terminal, never a secret."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from app.edge import logs
from app.edge.logs import utc_iso_ms


def _capture(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logs.configure(fmt, "DEBUG", stream)
    return logging.getLogger("canon_gate.test"), stream


def test_json_lines_carry_the_event_and_its_context_but_no_secret() -> None:
    log, stream = _capture("auto")  # a StringIO is not a TTY: JSON
    log.info(
        "webhook.handled",
        extra={"delivery_id": "d1", "installation_id": 3, "token": "ghs_x", "webhook_secret": "s"},
    )
    entry = json.loads(stream.getvalue())
    assert entry["event"] == "webhook.handled"
    assert entry["level"] == "info"
    assert entry["logger"] == "canon_gate.test"
    assert entry["delivery_id"] == "d1"
    assert entry["installation_id"] == 3
    assert "ghs_x" not in stream.getvalue()
    assert "token" not in entry
    assert "webhook_secret" not in entry


def test_text_lines_read_as_event_then_key_values() -> None:
    log, stream = _capture("text")
    log.warning("serve.setup_mode", extra={"missing": "GITHUB_APP_ID, X", "port": 3000})
    line = stream.getvalue().strip()
    assert 'WARNING serve.setup_mode missing="GITHUB_APP_ID, X" port=3000' in line


def test_exceptions_are_kept() -> None:
    log, stream = _capture("json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("webhook.failed", extra={"delivery_id": "d"})
    entry = json.loads(stream.getvalue())
    assert "RuntimeError: boom" in entry["exception"]


@settings(max_examples=2000, deadline=None, database=None)
@given(
    st.floats(min_value=-2e9, max_value=4e9, allow_nan=False)
    | st.integers(-2_000_000_000, 4_000_000_000).map(lambda s: s + 0.9995)
    | st.integers(0, 4_000_000_000).map(lambda s: s - 0.0000005)
)
def test_log_times_are_what_datetime_says(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert utc_iso_ms(created) == expected
